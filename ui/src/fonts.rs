//! The bundled fonts: Noto Sans (Latin, digits) and Noto Sans Arabic, regular and bold.
//!
//! Noto Sans Arabic has no Latin glyphs and Noto Sans no Arabic ones, so both are registered as
//! Slint's generic sans-serif family (Latin first) and Noto Sans Arabic as the fallback for the
//! Arabic script. The kiosk's printer raster uses the same bytes.
use std::sync::{Arc, Once};

use slint::fontique_011::fontique;

pub const NOTO_SANS: &[u8] = include_bytes!("../fonts/NotoSans-Regular.ttf");
pub const NOTO_SANS_BOLD: &[u8] = include_bytes!("../fonts/NotoSans-Bold.ttf");
pub const NOTO_SANS_ARABIC: &[u8] = include_bytes!("../fonts/NotoSansArabic-Regular.ttf");
pub const NOTO_SANS_ARABIC_BOLD: &[u8] = include_bytes!("../fonts/NotoSansArabic-Bold.ttf");

/// Makes the bundled fonts the ones Slint draws with. Call it once before creating a component
/// (more calls do nothing).
pub fn register_with_slint() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let mut collection = slint::fontique_011::shared_collection();
        let mut register = |bytes: &'static [u8]| -> Vec<fontique::FamilyId> {
            collection
                .register_fonts(fontique::Blob::new(Arc::new(bytes)), None)
                .into_iter()
                .map(|(id, _)| id)
                .collect()
        };
        let latin: Vec<_> = [NOTO_SANS, NOTO_SANS_BOLD].into_iter().flat_map(&mut register).collect();
        let arabic: Vec<_> = [NOTO_SANS_ARABIC, NOTO_SANS_ARABIC_BOLD].into_iter().flat_map(&mut register).collect();
        let mut both: Vec<_> = latin.iter().chain(&arabic).copied().collect();
        both.dedup();
        for generic in [
            fontique::GenericFamily::SansSerif,
            fontique::GenericFamily::SystemUi,
            fontique::GenericFamily::UiSansSerif,
        ] {
            collection.set_generic_families(generic, both.iter().copied());
        }
        collection.append_fallbacks(
            fontique::FallbackKey::new(fontique::Script::from_bytes(*b"Arab"), None),
            arabic.iter().copied(),
        );
    });
}
