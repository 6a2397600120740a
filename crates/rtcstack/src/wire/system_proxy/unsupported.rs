//! macOS and Windows: their proxy settings are not read yet (the
//! environment's are); reqwest, for our HTTP, reads them itself.

use super::Settings;

pub(super) fn read() -> Option<Settings> {
    None
}
