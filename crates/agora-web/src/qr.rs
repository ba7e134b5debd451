//! The ticket's QR code as inline SVG (no image): it holds the ticket code, so a scanner at
//! the door types it back into the check-in field.

use qrcode::QrCode;
use qrcode::render::svg;

/// An `<svg>` element drawing `text` as a QR code, dark on light, scalable by CSS.
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(240, 240)
        .dark_color(svg::Color("#111"))
        .light_color(svg::Color("#fff"))
        .build();
    // Inline in HTML: no XML declaration; a role and a label for screen readers.
    let start = image.find("<svg")?;
    Some(image[start..].replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"QR\" class=\"qr\" ",
        1,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn draws_an_inline_svg() {
        let s = super::svg("K7D-4QM").expect("svg");
        assert!(s.starts_with("<svg role=\"img\""));
        assert!(s.ends_with("</svg>"));
        assert!(s.contains("<path"));
    }
}
