//! Site identity by certificate: the national node's small certificate authority for sites
//! (its key in the national data directory, `0600`), the key pair and certificate request a
//! site makes at join, the file where the site keeps its certificate and key, and the site a
//! verified client certificate names.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};

use agora_model::national::{PeerCertificate, certificate_fingerprint};

/// The site authority's certificate, in the national data directory.
pub const CA_CERT_FILE: &str = "site-ca.pem";
/// Its private key (`0600`).
pub const CA_KEY_FILE: &str = "site-ca-key.pem";
/// The site's client certificate then its key (`0600`), in the site's data directory.
pub const IDENTITY_FILE: &str = "national-identity.pem";

/// How long the site authority is valid.
const CA_DAYS: u32 = 3650;
/// How long a site's certificate is valid (a new invite with `--replace` issues another).
const SITE_DAYS: u32 = 825;
const DAY: Duration = Duration::from_secs(86_400);

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    BadFile { path: PathBuf, reason: String },
    #[error("making a certificate: {0}")]
    Make(rcgen::Error),
    #[error("hello.certificate_request: {0}")]
    BadRequest(rcgen::Error),
    #[error("the client certificate: {0}")]
    BadPeer(&'static str),
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> CertError + 'a {
    move |source| CertError::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

/// Valid from a day ago (clocks differ) for `days` (also `agora certs`).
pub fn validity(params: &mut CertificateParams, days: u32) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    params.not_before = epoch + now.saturating_sub(DAY);
    params.not_after = epoch + now + DAY * days;
}

/// A certificate the authority signed for a site.
#[derive(Debug, Clone)]
pub struct Issued {
    pub pem: String,
    /// [`certificate_fingerprint`] of its DER.
    pub fingerprint: String,
}

/// The national node's authority for sites' client certificates.
pub struct SiteCa {
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for SiteCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteCa").finish_non_exhaustive()
    }
}

impl SiteCa {
    /// Reads the authority from `dir` (the national data directory), or makes it there at
    /// first start: the key first, the certificate last, each written whole (a temporary
    /// file renamed), so that a crash leaves either a whole authority or none (a key without
    /// its certificate signed nothing, and is made again).
    pub fn open_or_create(dir: &Path) -> Result<SiteCa, CertError> {
        let cert_path = dir.join(CA_CERT_FILE);
        let key_path = dir.join(CA_KEY_FILE);
        if !cert_path.exists() {
            let mut params =
                CertificateParams::new(Vec::<String>::new()).map_err(CertError::Make)?;
            params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            // A name of its own: another national node's authority is another issuer.
            let id = uuid::Uuid::new_v4().simple().to_string();
            params.distinguished_name.push(
                DnType::CommonName,
                format!("Agora national site authority {}", &id[..12]),
            );
            params.key_usages = vec![
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::CrlSign,
                KeyUsagePurpose::DigitalSignature,
            ];
            validity(&mut params, CA_DAYS);
            let key = KeyPair::generate().map_err(CertError::Make)?;
            let cert = params.self_signed(&key).map_err(CertError::Make)?;
            replace_private_file(&key_path, key.serialize_pem().as_bytes())?;
            replace_private_file(&cert_path, cert.pem().as_bytes())?;
        }
        let read = |p: &Path| std::fs::read_to_string(p).map_err(io("reading", p));
        let cert_pem = read(&cert_path)?;
        let key = KeyPair::from_pem(&read(&key_path)?).map_err(|e| CertError::BadFile {
            path: key_path.clone(),
            reason: format!("not a PEM private key: {e}"),
        })?;
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, key).map_err(|e| CertError::BadFile {
            path: cert_path.clone(),
            reason: format!("not a PEM certificate: {e}"),
        })?;
        Ok(SiteCa { cert_pem, issuer })
    }

    /// The authority's certificate (the national server trusts client certificates it
    /// signed).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Signs a client certificate naming `site_id` for the key of `request_pem` (a PEM
    /// PKCS#10 request, whose own signature proves the requester holds the key). Only the
    /// key is taken from the request: the name, usages and validity are the authority's.
    pub fn issue(&self, site_id: &str, request_pem: &str) -> Result<Issued, CertError> {
        let mut request = CertificateSigningRequestParams::from_pem(request_pem)
            .map_err(CertError::BadRequest)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(CertError::Make)?;
        params.distinguished_name.push(DnType::CommonName, site_id);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        validity(&mut params, SITE_DAYS);
        request.params = params;
        let cert = request.signed_by(&self.issuer).map_err(CertError::Make)?;
        Ok(Issued {
            pem: cert.pem(),
            fingerprint: certificate_fingerprint(cert.der()),
        })
    }
}

/// A site's fresh key pair and its certificate request.
pub struct SiteKey {
    key: KeyPair,
    request_pem: String,
}

impl SiteKey {
    pub fn generate(site_id: &str) -> Result<SiteKey, CertError> {
        let key = KeyPair::generate().map_err(CertError::Make)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(CertError::Make)?;
        params.distinguished_name.push(DnType::CommonName, site_id);
        let request_pem = params
            .serialize_request(&key)
            .and_then(|r| r.pem())
            .map_err(CertError::Make)?;
        Ok(SiteKey { key, request_pem })
    }

    pub fn request_pem(&self) -> &str {
        &self.request_pem
    }

    /// The identity file's contents: the certificate the national node issued, then the key.
    pub fn identity_pem(&self, cert_pem: &str) -> String {
        format!("{}\n{}", cert_pem.trim_end(), self.key.serialize_pem())
    }
}

/// Reads a site's identity file (certificate then key, PEM); `None` if there is none.
pub fn read_identity(path: &Path) -> Result<Option<String>, CertError> {
    match std::fs::read_to_string(path) {
        Ok(pem) => {
            if !pem.contains("-----BEGIN CERTIFICATE-----") || !pem.contains("PRIVATE KEY-----") {
                return Err(CertError::BadFile {
                    path: path.to_owned(),
                    reason: "must hold the site's certificate and its private key (PEM); move it away to join again with a new invite".into(),
                });
            }
            Ok(Some(pem))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("reading", path)(e)),
    }
}

/// Writes `bytes` to `path` whole or not at all: a temporary file `0600`, synced, renamed
/// over `path`, then the directory synced. A crash leaves the old file or the new one.
pub fn replace_private_file(path: &Path, bytes: &[u8]) -> Result<(), CertError> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(io("writing", &tmp))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io("writing", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("renaming to", path))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io("syncing", dir))?;
    }
    Ok(())
}

/// The site a client certificate names (its common name) and its fingerprint. The TLS
/// handshake already verified that the national node's authority signed it.
pub fn peer_certificate(der: &[u8]) -> Result<PeerCertificate, CertError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|_| CertError::BadPeer("not an X.509 certificate"))?;
    let site_id = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .ok_or(CertError::BadPeer("names no site (no common name)"))?;
    Ok(PeerCertificate {
        site_id: site_id.to_owned(),
        fingerprint: certificate_fingerprint(der),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authority_signs_a_request_for_the_site_it_is_told_and_keeps_its_key_private() {
        let dir = std::env::temp_dir().join(format!("agora-ca-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&dir).unwrap();
        let ca = SiteCa::open_or_create(&dir).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(CA_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = SiteCa::open_or_create(&dir).unwrap();
        assert_eq!(again.cert_pem(), ca.cert_pem(), "made once, then read");
        let key = SiteKey::generate("cluny").unwrap();
        // Whatever name the request asks for, the certificate names the site it is issued to.
        let issued = ca.issue("volvic", key.request_pem()).unwrap();
        let pem = pem_der(&issued.pem);
        let peer = peer_certificate(&pem).unwrap();
        assert_eq!(peer.site_id, "volvic");
        assert_eq!(peer.fingerprint, issued.fingerprint);
        let e = ca.issue("cluny", "not a request").unwrap_err();
        assert!(
            e.to_string().starts_with("hello.certificate_request"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn pem_der(pem: &str) -> Vec<u8> {
        x509_parser::pem::parse_x509_pem(pem.as_bytes())
            .unwrap()
            .1
            .contents
    }
}
