// engine/data/jpeg_decode.cpp — libjpeg decode with setjmp/longjmp error handling.
// The function holding setjmp keeps only plain C objects alive (no destructors are skipped by the
// longjmp); it reports failure through a char buffer and the caller throws the C++ exception.
#include "engine/data/jpeg_decode.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <vector>
// jpeglib.h needs size_t and FILE declared first.
#include <jerror.h>
#include <jpeglib.h>

#include "engine/core/error.h"

namespace senet::data {
namespace {

struct ErrorManager {
  jpeg_error_mgr mgr;  // first member: libjpeg passes &mgr, we cast back
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated;  // a "data ended early" warning was seen
};

void on_error(j_common_ptr cinfo) {
  auto* e = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, e->message);
  std::longjmp(e->jump, 1);
}

void on_message(j_common_ptr cinfo, int level) {
  auto* e = reinterpret_cast<ErrorManager*>(cinfo->err);
  if (level >= 0) return;  // trace messages
  const int code = cinfo->err->msg_code;
  if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER) {
    e->truncated = true;
    (*cinfo->err->format_message)(cinfo, e->message);
  }
}

// Returns true on success; else writes a reason into `why` (size JMSG_LENGTH_MAX + 64).
// rows: scratch for one decoded scanline of w*3 bytes.
bool decode_c(const uint8_t* data, size_t size, int h, int w, uint8_t* out, uint8_t* row, char* why,
              size_t why_size) {
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  std::memset(&err, 0, sizeof(err));
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = on_error;
  err.mgr.emit_message = on_message;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    std::snprintf(why, why_size, "libjpeg error: %s", err.message);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  const int comps = cinfo.num_components;
  if (comps != 1 && comps != 3) {
    jpeg_destroy_decompress(&cinfo);
    std::snprintf(why, why_size, "expected a gray or RGB JPEG, found %d components", comps);
    return false;
  }
  cinfo.out_color_space = comps == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  if (int(cinfo.output_width) != w || int(cinfo.output_height) != h) {
    std::snprintf(why, why_size, "expected %dx%d pixels (w x h), found %ux%u", w, h,
                  cinfo.output_width, cinfo.output_height);
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  const int plane = h * w;
  while (int(cinfo.output_scanline) < h) {
    const int y = int(cinfo.output_scanline);
    JSAMPROW rows[1] = {row};
    jpeg_read_scanlines(&cinfo, rows, 1);
    for (int x = 0; x < w; ++x) {
      for (int ch = 0; ch < 3; ++ch)
        out[ch * plane + y * w + x] = comps == 1 ? row[x] : row[x * 3 + ch];
    }
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (err.truncated) {
    std::snprintf(why, why_size, "corrupt or truncated JPEG data: %s", err.message);
    return false;
  }
  return true;
}

}  // namespace

void decode_jpeg_rgb(const uint8_t* data, size_t size, int h, int w, uint8_t* out,
                     const std::string& path) {
  SENET_CHECK(size > 0, "cannot decode JPEG '", path, "': expected JPEG data, found an empty file");
  std::vector<uint8_t> row(size_t(w) * 3);
  char why[JMSG_LENGTH_MAX + 128];
  if (!decode_c(data, size, h, w, out, row.data(), why, sizeof(why)))
    fail("cannot decode JPEG '", path, "': ", why);
}

}  // namespace senet::data
