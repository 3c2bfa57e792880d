// engine/data/jpeg_decode.h — decode one JPEG (in memory) into planar RGB with libjpeg(-turbo).
// Gray JPEGs are replicated into R, G and B; the image must have exactly the expected size (no
// resizing here). libjpeg reports errors by calling error_exit, which we turn into a longjmp back
// to the decoder and then into a senet::Error naming the file; truncated data (libjpeg only warns
// and pads with gray) is also an error, so a damaged file never silently becomes a gray image.
#pragma once
#include <cstdint>
#include <string>

namespace senet::data {

// Decodes `size` bytes of JPEG into out[3*h*w] (CHW). `path` is only used in error messages.
void decode_jpeg_rgb(const uint8_t* data, size_t size, int h, int w, uint8_t* out,
                     const std::string& path);

}  // namespace senet::data
