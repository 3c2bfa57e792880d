// tests/fuzz/make_seeds.cpp — writes the seed corpora of the fuzz targets: small valid files of
// every format (made with the project's own writers where it has them), gzipped variants, and a
// few near-valid ones (one field wrong), so the fuzzer starts past the first checks. Deterministic:
// the same bytes on every run. The committed tests/fuzz/corpus/ is its output:
//   cmake --build build --target fuzz_make_seeds && build/tests/fuzz/fuzz_make_seeds
//   tests/fuzz/corpus configs
// Checkpoints and safetensors also come without their CRC-32 metadata (as another tool would write
// them): a mutated byte then reaches the checks behind the checksums instead of failing them.
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>
// jpeglib.h needs size_t and FILE declared first.
#include <jpeglib.h>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"
#include "senet/checkpoint.h"
#include "senet/config.h"
#include "senet/masks.h"
#include "senet/trainer.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/tiny_model.h"

using namespace senet;
namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

namespace {

fs::path g_root;

void put(const std::string& target, const std::string& name, const Bytes& b) {
  const fs::path dir = g_root / target;
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
  SENET_CHECK(out.good(), "make_seeds: cannot write '", (dir / name).string(), "'");
}

Bytes bytes_of(const std::string& s) { return Bytes(s.begin(), s.end()); }

Bytes join(const std::vector<Bytes>& parts) {
  Bytes out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) {
      const std::string sep = fuzz::kPartSeparator;
      out.insert(out.end(), sep.begin(), sep.end());
    }
    out.insert(out.end(), parts[i].begin(), parts[i].end());
  }
  return out;
}

Bytes gzip(const Bytes& in) {
  z_stream s{};
  SENET_CHECK(deflateInit2(&s, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK,
              "deflateInit2");
  Bytes out(deflateBound(&s, uLong(in.size())) + 64);
  s.next_in = const_cast<Bytef*>(in.data());
  s.avail_in = uInt(in.size());
  s.next_out = out.data();
  s.avail_out = uInt(out.size());
  SENET_CHECK(deflate(&s, Z_FINISH) == Z_STREAM_END, "deflate");
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

void be32(Bytes& b, uint32_t v) {
  for (int k = 3; k >= 0; --k) b.push_back(uint8_t(v >> (8 * k)));
}

// A deterministic byte pattern.
uint8_t pattern(size_t i) { return uint8_t((i * 37 + (i >> 7) * 11) & 0xff); }

// ---- idx: images n×rows×cols and n labels < 10.
Bytes idx_images(uint32_t n, uint32_t rows, uint32_t cols) {
  Bytes b;
  be32(b, 0x00000803u);
  be32(b, n);
  be32(b, rows);
  be32(b, cols);
  for (size_t i = 0; i < size_t(n) * rows * cols; ++i) b.push_back(pattern(i));
  return b;
}
Bytes idx_labels(uint32_t n) {
  Bytes b;
  be32(b, 0x00000801u);
  be32(b, n);
  for (uint32_t i = 0; i < n; ++i) b.push_back(uint8_t(i % 10));
  return b;
}

void idx_seeds() {
  put("idx", "raw_3x4x5", join({idx_images(3, 4, 5), idx_labels(3)}));
  put("idx", "gz_images", join({gzip(idx_images(2, 28, 28)), idx_labels(2)}));
  put("idx", "gz_both", join({gzip(idx_images(4, 3, 3)), gzip(idx_labels(4))}));
  put("idx", "empty_set", join({idx_images(0, 28, 28), idx_labels(0)}));
  Bytes bad_label = idx_labels(1);
  bad_label.back() = 10;
  put("idx", "label_out_of_range", join({idx_images(1, 2, 2), bad_label}));
  put("idx", "count_mismatch", join({idx_images(2, 2, 2), idx_labels(3)}));
}

// ---- CIFAR: records of label byte(s) + 3072 pixels.
Bytes cifar(int records, int label_bytes) {
  Bytes b;
  for (int r = 0; r < records; ++r) {
    for (int l = 0; l < label_bytes; ++l) b.push_back(uint8_t((r * 7 + l * 3) % 10));
    for (size_t i = 0; i < 3072; ++i) b.push_back(pattern(i + size_t(r)));
  }
  return b;
}

void cifar_seeds() {
  put("cifar10", "two_records", cifar(2, 1));
  put("cifar10", "gz_three_records", gzip(cifar(3, 1)));
  Bytes bad = cifar(1, 1);
  bad[0] = 10;
  put("cifar10", "label_out_of_range", bad);
  put("cifar10", "truncated", Bytes(bad.begin(), bad.end() - 1));
  put("cifar100", "two_records", cifar(2, 2));
  put("cifar100", "gz_three_records", gzip(cifar(3, 2)));
  Bytes bad100 = cifar(1, 2);
  bad100[0] = 20;  // coarse label out of range, fine label valid
  bad100[1] = 99;
  put("cifar100", "coarse_out_of_range", bad100);
}

// ---- Tiny-ImageNet: wnids.txt, val_annotations.txt, one JPEG.
Bytes jpeg(int w, int h, int comps, bool progressive, int quality) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* mem = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &mem, &size);
  c.image_width = JDIMENSION(w);
  c.image_height = JDIMENSION(h);
  c.input_components = comps;
  c.in_color_space = comps == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  if (progressive) jpeg_simple_progression(&c);
  jpeg_start_compress(&c, TRUE);
  std::vector<uint8_t> row(size_t(w * comps));
  while (int(c.next_scanline) < h) {
    const int y = int(c.next_scanline);
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < comps; ++k)
        row[size_t(x * comps + k)] = uint8_t((x * 4 + y * 2 + k * 80) & 0xff);
    JSAMPROW rows[1] = {row.data()};
    jpeg_write_scanlines(&c, rows, 1);
  }
  jpeg_finish_compress(&c);
  Bytes out(mem, mem + size);
  jpeg_destroy_compress(&c);
  std::free(mem);
  return out;
}

void tiny_imagenet_seeds() {
  const Bytes wnids = bytes_of("n01443537\nn01629819\nn01641577\n");
  const Bytes ann = bytes_of(
      "val_0.JPEG\tn01443537\t0\t32\t44\t62\n"
      "val_1.JPEG\tn01629819\t52\t37\t7\t63\n"
      "val_2.JPEG\tn01641577\t4\t0\t60\t55\n");
  put("tiny_imagenet", "rgb_baseline", join({wnids, ann, jpeg(64, 64, 3, false, 40)}));
  put("tiny_imagenet", "gray_baseline", join({wnids, ann, jpeg(64, 64, 1, false, 40)}));
  put("tiny_imagenet", "rgb_progressive", join({wnids, ann, jpeg(64, 64, 3, true, 30)}));
  put("tiny_imagenet", "wrong_size", join({wnids, ann, jpeg(32, 16, 3, false, 30)}));
  const Bytes j = jpeg(64, 64, 3, false, 20);
  put("tiny_imagenet", "truncated_jpeg",
      join({wnids, ann, Bytes(j.begin(), j.begin() + ptrdiff_t(j.size() * 9 / 10))}));
  put("tiny_imagenet", "duplicate_wnid", join({bytes_of("n01\nn02\nn01\n"), ann, Bytes{}}));
  put("tiny_imagenet", "unknown_wnid",
      join({bytes_of("n01\r\n\r\nn02\r\n"), bytes_of("a.JPEG\tn03\n"), Bytes{}}));
}

// ---- safetensors (without senet's checksum metadata when strip is set).
Bytes strip_checksums(const Bytes& file) {
  uint64_t n = 0;
  for (int k = 7; k >= 0; --k) n = (n << 8) | file[size_t(k)];
  nlohmann::json header = nlohmann::json::parse(file.begin() + 8, file.begin() + 8 + ptrdiff_t(n));
  auto& meta = header["__metadata__"];
  for (auto it = meta.begin(); it != meta.end();)
    it = io::st_is_checksum_key(it.key()) ? meta.erase(it) : std::next(it);
  if (meta.empty()) header.erase("__metadata__");
  std::string text = header.dump();
  while ((8 + text.size()) % 8) text.push_back(' ');
  Bytes out;
  for (int k = 0; k < 8; ++k) out.push_back(uint8_t(uint64_t(text.size()) >> (8 * k)));
  out.insert(out.end(), text.begin(), text.end());
  out.insert(out.end(), file.begin() + 8 + ptrdiff_t(n), file.end());
  return out;
}

io::StTensor st(const std::string& name, io::StDType t, std::vector<int64_t> shape) {
  io::StTensor s;
  s.name = name;
  s.dtype = t;
  s.shape = std::move(shape);
  s.bytes.resize(io::st_nbytes(t, s.shape));
  for (size_t i = 0; i < s.bytes.size(); ++i) s.bytes[i] = pattern(i);
  return s;
}

void safetensors_seeds() {
  io::StFile f;
  f.tensors = {st("conv.weight", io::StDType::F32, {2, 1, 3, 3}),
               st("mask", io::StDType::U8, {2, 2}), st("step", io::StDType::I64, {}),
               st("half", io::StDType::BF16, {3}), st("empty", io::StDType::I32, {0, 4})};
  f.metadata = {{"format", "pt"}, {"note", "seed"}};
  const Bytes full = io::serialize_safetensors(f);
  put("safetensors", "five_dtypes_crc", full);
  put("safetensors", "five_dtypes_nocrc", strip_checksums(full));
  put("safetensors", "empty_header", bytes_of(std::string("\x02\0\0\0\0\0\0\0{}", 10)));
  const std::string h =
      R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"__metadata__":{"k":"v"}})";
  Bytes manual;
  for (int k = 0; k < 8; ++k) manual.push_back(uint8_t(uint64_t(h.size()) >> (8 * k)));
  manual.insert(manual.end(), h.begin(), h.end());
  for (int k = 0; k < 4; ++k) manual.push_back(uint8_t(k));
  put("safetensors", "other_tool", manual);
  put("safetensors", "truncated_data", Bytes(manual.begin(), manual.end() - 1));
}

// ---- the run config: JSON file, then --set lines.
void config_seeds(const fs::path& configs) {
  put("config", "defaults", bytes_of(to_json(RunConfig{}).dump(1)));
  put("config", "empty_object_with_sets",
      join({bytes_of("{}"), bytes_of("train.optim.lr=0.1\nsenet.budget=100\ndata.dataset=cifar10\n"
                                     "train.optim.milestones=[2,4]\nmodel.arch=wrn")}));
  put("config", "comments_and_sections",
      bytes_of(
          "// a comment\n{\"//\": \"note\", \"model\": {\"width\": 0.5, \"arch\": \"resnet34\"},\n"
          " /* block */ \"senet\": {\"finetune\": {\"epochs\": 3}, \"snl\": {\"lambda\": 1e-4}}}"));
  put("config", "bad_value", bytes_of("{\"train\": {\"optim\": {\"lr\": -1}}}"));
  put("config", "unknown_key",
      join({bytes_of("{\"model\": {\"depth\": 3}}"), bytes_of("model=1")}));
  if (fs::is_directory(configs)) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(configs))
      if (e.path().extension() == ".json") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& p : files)
      put("config", "configs_" + p.stem().string(), bytes_of(io::read_file(p.string())));
  }
}

// ---- masks.json of the tiny model, and checkpoints of it.
void model_seeds() {
  auto m = models::make_model(fuzz::tiny_model_config());
  put("masks", "all_ones_pixel", bytes_of(export_masks(*m, Granularity::Pixel).dump()));
  std::vector<int64_t> counts;
  for (auto* s : m->counted_sites()) counts.push_back(s->size() / 9);
  set_random_masks(*m, counts, Granularity::Pixel, 7);
  put("masks", "random_pixel", bytes_of(export_masks(*m, Granularity::Pixel).dump()));
  nlohmann::json bad = export_masks(*m, Granularity::Pixel);
  bad["sites"][3]["kept"] = bad["sites"][3]["kept"].get<int64_t>() + 1;
  put("masks", "kept_mismatch", bytes_of(bad.dump()));

  auto c = models::make_model(fuzz::tiny_model_config());
  std::vector<int64_t> ccounts;
  for (auto* s : c->counted_sites()) ccounts.push_back(s->size() / 3);
  set_random_masks(*c, ccounts, Granularity::Channel, 9);
  put("masks", "random_channel", bytes_of(export_masks(*c, Granularity::Channel).dump()));

  RunConfig cfg;
  cfg.model = fuzz::tiny_model_config();
  auto opt = make_optimizer(cfg.train.optim, *m);
  Metadata meta{{"config", to_json(cfg).dump()},
                {"epoch", "3"},
                {"best_epoch", "2"},
                {"best_val_accuracy", "0.871200"},
                {"lambda", "1.0000000000000001e-05"},
                {"seconds", "12.5"},
                {"stage", "teacher"}};
  const fs::path tmp = g_root / "checkpoint" / "tmp.safetensors";
  fs::create_directories(tmp.parent_path());
  save_checkpoint(tmp.string(), *m, opt.get(), meta);
  const std::string with_opt = io::read_file(tmp.string());
  save_checkpoint(tmp.string(), *c, nullptr, meta);
  const std::string channel = io::read_file(tmp.string());
  fs::remove(tmp);
  put("checkpoint", "pixel_masks_sgd_nocrc", strip_checksums(bytes_of(with_opt)));
  put("checkpoint", "channel_masks_nocrc", strip_checksums(bytes_of(channel)));
  put("checkpoint", "channel_masks_crc", bytes_of(channel));

  // A PyTorch state_dict of the model (docs/interop.md): no metadata at all, BOOL masks at every
  // other site and none at the rest, an I64 scalar num_batches_tracked per BatchNorm.
  io::StFile sd;
  int site = 0;
  for (auto& [name, t] : m->named_tensors()) {
    io::StTensor s = to_st(name, *t);
    const bool mask = name.size() > 5 && name.compare(name.size() - 5, 5, ".mask") == 0;
    if (mask && site++ % 2) continue;
    if (mask) s.dtype = io::StDType::BOOL;
    sd.tensors.push_back(s);
    const std::string var = ".running_var";
    if (name.size() > var.size() && name.compare(name.size() - var.size(), var.size(), var) == 0)
      sd.tensors.push_back({name.substr(0, name.size() - var.size()) + ".num_batches_tracked",
                            io::StDType::I64,
                            {},
                            std::vector<uint8_t>(8, 0)});
  }
  put("checkpoint", "state_dict_bool_masks", strip_checksums(io::serialize_safetensors(sd)));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: fuzz_make_seeds CORPUS_DIR [CONFIGS_DIR]\n");
    return 2;
  }
  try {
    g_root = argv[1];
    idx_seeds();
    cifar_seeds();
    tiny_imagenet_seeds();
    safetensors_seeds();
    config_seeds(argc > 2 ? fs::path(argv[2]) : fs::path());
    model_seeds();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_seeds: %s\n", e.what());
    return 1;
  }
  std::printf("make_seeds: corpora written under %s\n", argv[1]);
  return 0;
}
