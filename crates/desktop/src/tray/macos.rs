//! The menu bar is always there.

pub async fn present() -> bool {
    true
}

/// Drawn by the system itself.
pub fn can_draw() -> bool {
    true
}
