//! `agora certs`: a certificate authority and server certificates for a deployment whose
//! venues have no PKI of their own. Keys are written `0600` and never overwritten.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use agora_sync::site_cert::validity;
use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

/// Files written by [`make_ca`].
#[derive(Debug, Clone)]
pub struct CaFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Files written by [`make_server`].
#[derive(Debug, Clone)]
pub struct ServerFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Writes `ca.pem` and `ca-key.pem` into `dir` (created `0700` if missing).
pub fn make_ca(dir: &Path, name: &str, days: u32) -> anyhow::Result<CaFiles> {
    agora_sync::private::create_private_dir(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut params, days);
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    let files = CaFiles {
        cert: dir.join("ca.pem"),
        key: dir.join("ca-key.pem"),
    };
    write_new(&files.key, key.serialize_pem().as_bytes(), true)?;
    write_new(&files.cert, cert.pem().as_bytes(), false)?;
    Ok(files)
}

/// Writes `<out>.pem` and `<out>-key.pem`: a server certificate for `names` and `ips`,
/// signed by the CA of `ca`.
pub fn make_server(
    ca: &CaFiles,
    out: &Path,
    names: &[String],
    ips: &[IpAddr],
    days: u32,
) -> anyhow::Result<ServerFiles> {
    anyhow::ensure!(
        !names.is_empty() || !ips.is_empty(),
        "give at least one --name or --ip: the names clients dial"
    );
    let read =
        |p: &Path| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()));
    let ca_key = KeyPair::from_pem(&read(&ca.key)?)
        .with_context(|| format!("{}: not a PEM private key", ca.key.display()))?;
    let issuer = Issuer::from_ca_cert_pem(&read(&ca.cert)?, ca_key)
        .with_context(|| format!("{}: not a PEM certificate", ca.cert.display()))?;
    let mut params = CertificateParams::new(names.to_vec())
        .context("--name must be a DNS name such as national.example.eu")?;
    params
        .subject_alt_names
        .extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
    let common = names
        .first()
        .cloned()
        .or_else(|| ips.first().map(ToString::to_string))
        .unwrap_or_default();
    params.distinguished_name.push(DnType::CommonName, common);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params, days);
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    let base = out.to_string_lossy();
    let base = base.strip_suffix(".pem").unwrap_or(&base);
    let files = ServerFiles {
        cert: PathBuf::from(format!("{base}.pem")),
        key: PathBuf::from(format!("{base}-key.pem")),
    };
    if let Some(parent) = files.cert.parent().filter(|p| !p.as_os_str().is_empty()) {
        agora_sync::private::create_private_dir(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    write_new(&files.key, key.serialize_pem().as_bytes(), true)?;
    write_new(&files.cert, cert.pem().as_bytes(), false)?;
    Ok(files)
}

/// A new file (never overwritten); a key `0600`.
fn write_new(path: &Path, bytes: &[u8], secret: bool) -> anyhow::Result<()> {
    let written = if secret {
        agora_sync::private::write_private_file(path, bytes)
    } else {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, bytes))
    };
    written.with_context(|| {
        format!(
            "writing {} (an existing file is never overwritten: move it away first)",
            path.display()
        )
    })
}

/// A CA and a server certificate for `localhost` and 127.0.0.1 in `dir`: the demo's and the
/// tests' PKI.
pub fn loopback_pki(dir: &Path) -> anyhow::Result<(CaFiles, ServerFiles)> {
    let ca = make_ca(dir, "Agora loopback CA", 30)?;
    let server = make_server(
        &ca,
        &dir.join("server"),
        &["localhost".to_owned()],
        &[IpAddr::from([127, 0, 0, 1])],
        30,
    )?;
    Ok((ca, server))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_and_a_server_certificate_are_written_private_and_never_overwritten() {
        let t = tempfile::tempdir().unwrap();
        let (ca, server) = loopback_pki(t.path()).unwrap();
        for f in [&ca.cert, &ca.key, &server.cert, &server.key] {
            let text = std::fs::read_to_string(f).unwrap();
            assert!(text.starts_with("-----BEGIN"), "{}", f.display());
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&ca.key), 0o600);
            assert_eq!(mode(&server.key), 0o600);
        }
        let again = make_ca(t.path(), "Other", 1).unwrap_err();
        assert!(
            format!("{again:#}").contains("never overwritten"),
            "{again:#}"
        );
    }

    #[test]
    fn a_server_certificate_needs_a_name() {
        let t = tempfile::tempdir().unwrap();
        let ca = make_ca(t.path(), "CA", 1).unwrap();
        let e = make_server(&ca, &t.path().join("s"), &[], &[], 1).unwrap_err();
        assert!(e.to_string().contains("--name"), "{e}");
    }
}
