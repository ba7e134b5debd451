//! The demo's sites. Their défis are the organisers' own list, imported from
//! `deploy/defis-2017.toml` (each row names its site) by the code of `agora import`.

/// The demo's sites: (id, name, country, partner).
pub const SITES: [(&str, &str, &str, bool); 5] = [
    ("cluny", "Cluny", "FR", false),
    ("volvic", "Volvic", "FR", false),
    ("macon", "Mâcon", "FR", false),
    ("coventry", "Coventry", "GB", true),
    ("kehl", "Kehl", "DE", true),
];
