//! Compiles the counter app's Slint UI (`ui/counter.slint`) into Rust (`screen.rs` includes it).
fn main() {
    slint_build::compile("ui/counter.slint").expect("ui/counter.slint compiles");
}
