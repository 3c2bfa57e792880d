// engine/data/augment.h — random crop with zero padding, horizontal flip, and the uint8 → float
// normalised copy of one sample, done in a single pass.
// Crop: pad the image by crop_pad zero pixels on every side, cut an h×w window at offset (dy, dx),
// dy, dx uniform in [0, 2·crop_pad]; a padded pixel is the byte 0 (then normalised, like
// torchvision's RandomCrop before Normalize). Flip: mirror the columns with probability 1/2.
// Rule: the draw for the sample at position p of epoch e is rand_below(seed, augment_stream(e),
// 3p + {0,1,2}), so it depends on (seed, e, p) only — never on threads or on what was read before.
#pragma once
#include <cstdint>

#include "engine/data/normalize.h"

namespace senet::data {

struct Augment {
  int crop_pad = 0;
  bool hflip = false;
};

// One sample's random choices.
struct AugmentDraw {
  int dy = 0, dx = 0;  // window offset in the padded image, in [0, 2·crop_pad]
  bool flip = false;
};

AugmentDraw draw_augment(const Augment& aug, uint64_t seed, int64_t epoch, int64_t position);

// out[c*h*w] = normalise(crop/flip(img[c*h*w])). scale/shift per channel: v*scale + shift equals
// (v/255 − mean)/std (see normalize_affine).
void write_sample(const uint8_t* img, int c, int h, int w, int crop_pad, const AugmentDraw& draw,
                  const float* scale, const float* shift, float* out);

// scale[ch] = 1/(255·std), shift[ch] = −mean/std; an empty Normalize gives 1/255 and 0.
// Throws unless norm has 0 or c entries in both mean and std, with std > 0.
void normalize_affine(const Normalize& norm, int c, float* scale, float* shift);

}  // namespace senet::data
