//! libvpx with a safe interface: a VP8 or VP9 decoder (one compressed
//! frame in, the picture it shows out, borrowed until the next call) and a
//! real-time VP8 encoder (an I420 picture in, compressed frames out).

use std::ffi::CStr;

use vpx_sys as vpx;

mod decode;
mod encode;
mod temporal;

pub use decode::{Codec, Decoder, Picture};
pub use encode::{Content, Encoded, EncoderConfig, Vp8Encoder};
pub use temporal::Temporal;

/// What went wrong, with libvpx's own words.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Error {
    #[error("decoder could not start: {0}")]
    Init(String),
    #[error("frame not decodable: {0}")]
    Frame(String),
    #[error("frame of {0} bytes is too large")]
    TooLarge(usize),
    #[error("VP8 encoder could not start: {0}")]
    EncoderInit(String),
    #[error("VP8 picture not encodable: {0}")]
    Encode(String),
}

/// libvpx's words for an error, with the context's detail when it has one.
pub(crate) fn detail(ctx: &mut vpx::vpx_codec_ctx_t, err: vpx::vpx_codec_err_t) -> String {
    let mut text = describe(err);
    // SAFETY: the context is initialised; the detail is a NUL-terminated
    // string owned by it, or null.
    let detail = unsafe { vpx::vpx_codec_error_detail(ctx) };
    if !detail.is_null() {
        // SAFETY: non-null and NUL-terminated, read before any other call.
        let d = unsafe { CStr::from_ptr(detail) }.to_string_lossy();
        text = format!("{text} ({d})");
    }
    text
}

pub(crate) fn describe(err: vpx::vpx_codec_err_t) -> String {
    // SAFETY: libvpx returns a static NUL-terminated string for any code.
    let text = unsafe { CStr::from_ptr(vpx::vpx_codec_err_to_string(err)) };
    text.to_string_lossy().into_owned()
}
