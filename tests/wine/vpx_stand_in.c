/* libvpx for the Windows build of the capture example run under Wine
 * (scripts/test, group windows): that example reads screens and cameras
 * and never encodes or decodes, and libvpx is not built for Windows here.
 * Each function our libvpx wrapper calls aborts, so a call would be loud. */
#include <stdlib.h>

#define NOT_HERE(name) \
  void name(void) { abort(); }

NOT_HERE(vpx_codec_control_)
NOT_HERE(vpx_codec_dec_init_ver)
NOT_HERE(vpx_codec_decode)
NOT_HERE(vpx_codec_destroy)
NOT_HERE(vpx_codec_enc_config_default)
NOT_HERE(vpx_codec_enc_config_set)
NOT_HERE(vpx_codec_enc_init_ver)
NOT_HERE(vpx_codec_encode)
NOT_HERE(vpx_codec_err_to_string)
NOT_HERE(vpx_codec_error_detail)
NOT_HERE(vpx_codec_get_cx_data)
NOT_HERE(vpx_codec_get_frame)
NOT_HERE(vpx_codec_vp8_cx)
NOT_HERE(vpx_codec_vp8_dx)
NOT_HERE(vpx_codec_vp9_dx)
NOT_HERE(vpx_img_wrap)
