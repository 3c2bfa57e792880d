// engine/data/augment.cpp — crop/flip/normalise of one sample (see augment.h). Output (y, x)
// reads source (y + dy − pad, xs + dx − pad) with xs = flip ? w−1−x : x; outside the image the
// byte is 0.
#include "engine/data/augment.h"

#include "engine/core/error.h"
#include "engine/core/rng.h"
#include "engine/data/streams.h"

namespace senet::data {

AugmentDraw draw_augment(const Augment& aug, uint64_t seed, int64_t epoch, int64_t position) {
  AugmentDraw d;
  const uint64_t stream = augment_stream(epoch), at = 3 * uint64_t(position);
  if (aug.crop_pad > 0) {
    const uint32_t span = uint32_t(2 * aug.crop_pad + 1);
    d.dy = int(rand_below(seed, stream, at + 0, span));
    d.dx = int(rand_below(seed, stream, at + 1, span));
  } else {
    d.dy = d.dx = 0;
  }
  d.flip = aug.hflip && rand_below(seed, stream, at + 2, 2) == 1;
  return d;
}

void write_sample(const uint8_t* img, int c, int h, int w, int crop_pad, const AugmentDraw& draw,
                  const float* scale, const float* shift, float* out) {
  const int oy = draw.dy - crop_pad, ox = draw.dx - crop_pad;  // source = output + offset
  for (int ch = 0; ch < c; ++ch) {
    const uint8_t* src = img + int64_t(ch) * h * w;
    float* dst = out + int64_t(ch) * h * w;
    const float a = scale[ch], b = shift[ch];
    for (int y = 0; y < h; ++y) {
      const int sy = y + oy;
      float* row = dst + int64_t(y) * w;
      if (sy < 0 || sy >= h) {
        for (int x = 0; x < w; ++x) row[x] = b;  // padded row: byte 0
        continue;
      }
      const uint8_t* srow = src + int64_t(sy) * w;
      for (int x = 0; x < w; ++x) {
        const int sx = (draw.flip ? w - 1 - x : x) + ox;
        row[x] = (sx >= 0 && sx < w) ? float(srow[sx]) * a + b : b;
      }
    }
  }
}

void normalize_affine(const Normalize& norm, int c, float* scale, float* shift) {
  if (norm.mean.empty() && norm.std.empty()) {
    for (int ch = 0; ch < c; ++ch) scale[ch] = 1.0f / 255.0f, shift[ch] = 0.0f;
    return;
  }
  SENET_CHECK(int(norm.mean.size()) == c && int(norm.std.size()) == c, "Normalize: expected ", c,
              " means and stds (one per channel), found ", norm.mean.size(), " and ",
              norm.std.size());
  for (int ch = 0; ch < c; ++ch) {
    SENET_CHECK(norm.std[ch] > 0, "Normalize: std of channel ", ch, " must be > 0, found ",
                norm.std[ch]);
    scale[ch] = 1.0f / (255.0f * norm.std[ch]);
    shift[ch] = -norm.mean[ch] / norm.std[ch];
  }
}

}  // namespace senet::data
