//! The booking code as a QR code in inline SVG, for the kiosk's scanner.
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// An `<svg>` element (no XML prolog) showing `data` as a QR code, `size` pixels wide, with its
/// accessible name `label`.
pub fn svg(data: &str, size: u32, label: &str) -> String {
    let Ok(code) = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M) else {
        return String::new();
    };
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(size, size)
        .dark_color(svg::Color("#000"))
        .light_color(svg::Color("#fff"))
        .quiet_zone(true)
        .build();
    let start = image.find("<svg").unwrap_or(0);
    let label = label.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;");
    image[start..].replacen("<svg ", &format!("<svg role=\"img\" aria-label=\"{label}\" "), 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_code_is_an_inline_svg_with_a_name() {
        let image = svg("K7M3PX9A", 200, "QR <code>");
        assert!(image.starts_with("<svg role=\"img\" aria-label=\"QR &lt;code>\" "), "{}", &image[..80]);
        assert!(image.ends_with("</svg>"));
        assert!(image.contains("viewBox"));
        assert!(!image.contains("<?xml"));
    }
}
