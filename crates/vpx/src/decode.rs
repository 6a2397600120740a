//! The decoder.

use std::mem::MaybeUninit;
use std::ptr::NonNull;

use vpx_sys as vpx;

use crate::{describe, Error};

/// A decoded picture: three 8-bit planes (Y, U, V), chroma at half the
/// width and height, each row `stride` bytes after the last.
pub struct Picture<'a> {
    pub width: u32,
    pub height: u32,
    pub planes: [(&'a [u8], usize); 3],
}

/// Which of libvpx's decoders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Vp8,
    Vp9,
}

/// One VP8 or VP9 stream's decoder.
pub struct Decoder {
    // Boxed: libvpx keeps state behind the context, and the context must
    // not move once initialised.
    ctx: Box<vpx::vpx_codec_ctx_t>,
}

// SAFETY: the context is only touched through &mut self (or in drop), and
// libvpx's decoder keeps no thread-local state: it may move between
// threads, never be shared.
unsafe impl Send for Decoder {}

impl Decoder {
    pub fn new(codec: Codec) -> Result<Self, Error> {
        // SAFETY: a zeroed context is what vpx_codec_dec_init expects (it
        // fills every field); the interface is a static of the library.
        let mut ctx: Box<vpx::vpx_codec_ctx_t> =
            Box::new(unsafe { MaybeUninit::zeroed().assume_init() });
        let cfg = vpx::vpx_codec_dec_cfg_t {
            threads: 1,
            w: 0,
            h: 0,
        };
        // SAFETY: the interfaces are statics of the library.
        let interface = unsafe {
            match codec {
                Codec::Vp8 => vpx::vpx_codec_vp8_dx(),
                Codec::Vp9 => vpx::vpx_codec_vp9_dx(),
            }
        };
        // SAFETY: pointers to live values; the ABI version is the one the
        // bindings were generated for, which libvpx checks.
        let err = unsafe {
            vpx::vpx_codec_dec_init_ver(
                ctx.as_mut(),
                interface,
                &cfg,
                0,
                vpx::VPX_DECODER_ABI_VERSION as i32,
            )
        };
        if err != vpx::VPX_CODEC_OK {
            return Err(Error::Init(describe(err)));
        }
        Ok(Decoder { ctx })
    }

    /// Decodes one frame (for VP9, a superframe, or the frames of one
    /// picture's spatial layers one after another: the last one shown is
    /// returned). `None`: the frame decoded but shows nothing (a frame may
    /// update references without being shown).
    pub fn decode(&mut self, frame: &[u8]) -> Result<Option<Picture<'_>>, Error> {
        let len = u32::try_from(frame.len()).map_err(|_| Error::TooLarge(frame.len()))?;
        // SAFETY: the context is initialised; libvpx reads `len` bytes of
        // `frame`, which outlives the call, and copies what it keeps.
        let err = unsafe {
            vpx::vpx_codec_decode(
                self.ctx.as_mut(),
                frame.as_ptr(),
                len,
                std::ptr::null_mut(),
                0,
            )
        };
        if err != vpx::VPX_CODEC_OK {
            return Err(Error::Frame(self.detail(err)));
        }
        let mut iter: vpx::vpx_codec_iter_t = std::ptr::null();
        // SAFETY: the context is initialised; the image it returns is owned
        // by the decoder and valid until the next decode or destroy, which
        // the returned borrow of `self` rules out.
        let img = unsafe { vpx::vpx_codec_get_frame(self.ctx.as_mut(), &mut iter) };
        let Some(img) = NonNull::new(img) else {
            return Ok(None);
        };
        // SAFETY: as above.
        let img = unsafe { img.as_ref() };
        // VP8 is always 8-bit 4:2:0; VP9 is too in profile 0, the only one
        // we offer, and anything else is refused here.
        if img.fmt != vpx::vpx_img_fmt::VPX_IMG_FMT_I420 {
            return Err(Error::Frame(format!(
                "unexpected image format {:?}",
                img.fmt
            )));
        }
        let (w, h) = (img.d_w as usize, img.d_h as usize);
        let rows = [h, h.div_ceil(2), h.div_ceil(2)];
        let mut planes: [(&[u8], usize); 3] = [(&[], 0); 3];
        for (i, plane) in planes.iter_mut().enumerate() {
            let stride = usize::try_from(img.stride[i]).unwrap_or(0);
            let width = if i == 0 { w } else { w.div_ceil(2) };
            if img.planes[i].is_null() || stride < width {
                return Err(Error::Frame("decoder returned an empty plane".into()));
            }
            let len = stride * (rows[i].saturating_sub(1)) + width;
            // SAFETY: libvpx allocates each plane as `stride` bytes per row
            // for every row of the plane (the last row at least `width`
            // long); the borrow ends before the decoder is used again.
            *plane = (
                unsafe { std::slice::from_raw_parts(img.planes[i], len) },
                stride,
            );
        }
        Ok(Some(Picture {
            width: img.d_w,
            height: img.d_h,
            planes,
        }))
    }

    fn detail(&mut self, err: vpx::vpx_codec_err_t) -> String {
        crate::detail(self.ctx.as_mut(), err)
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: initialised in new(), destroyed once.
        unsafe {
            vpx::vpx_codec_destroy(self.ctx.as_mut());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_crash() {
        for codec in [Codec::Vp8, Codec::Vp9] {
            let mut d = Decoder::new(codec).unwrap();
            let err = d.decode(&[0xff; 40]).err().expect("garbage refused");
            assert!(matches!(err, Error::Frame(_)), "{codec:?}: {err}");
            assert!(
                err.to_string().starts_with("frame not decodable: "),
                "{err}"
            );
        }
    }
}
