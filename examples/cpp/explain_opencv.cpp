// explain_opencv.cpp — Score-CAM from a real C++ host: OpenCV DNN runs the model, libscorecam
// (through scorecam.hpp) explains it.
//
//   explain_opencv MODEL.onnx IMAGE OUTDIR [--top K | --class N ...] [--cskip K] [--batch-size N]
//
// MODEL is the default model, EfficientNet-Lite0 (ImageNet-1k) as ONNX: build it with
//   python -m scorecam.models._lite0 build/models/efficientnet-lite0.onnx
// The image is preprocessed as the Python package does it (RGB, 224x224 bicubic, /255, ImageNet
// mean and std, NCHW float32). One forward pass gives both the logits and the activations of the
// explained layer (the last ReLU6, 1280x7x7); the engine then calls the forward callback below on
// batches of masked images. One overlay PNG per class goes to OUTDIR.
//
// Besides the human-readable lines, it prints machine-readable ones, e.g.
//   top class=243 p=0.6312
//   peak class=243 y=54 x=115
//   wrote build/example-cpp/sample_image_01_243.png
//
// Exit status: 0 on success, 1 on failure, 2 on bad usage.
#include <scorecam.hpp>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// The default model's input size, tensor names and preprocessing (bindings/python/scorecam/_lite0.py).
constexpr int kSize = 224;
const char *const kLayer = "onnx_node!head_relu6"; // OpenCV names intermediate blobs after the node
const char *const kOutput = "logits";
constexpr float kMean[3] = {0.485f, 0.456f, 0.406f};
constexpr float kStd[3] = {0.229f, 0.224f, 0.225f};

struct Options {
    std::string model, image, outdir;
    int top = 3;
    std::vector<int64_t> classes; // empty: the top classes
    int64_t cskip = 16;           // 0: every channel
    int64_t batch_size = 64;
};

const char *const kUsage =
    "usage: explain_opencv MODEL.onnx IMAGE OUTDIR [--top K | --class N ...] [--cskip K] [--batch-size N]\n"
    "  --top K         explain the K most probable classes (default 3)\n"
    "  --class N ...   explain these class indices instead\n"
    "  --cskip K       keep the K channels of largest spatial max (default 16; 0 = all channels)\n"
    "  --batch-size N  masked images per OpenCV forward call (default 64)\n";

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

int64_t parse_int(const std::string &flag, const char *text, int64_t min) {
    char *end = nullptr;
    errno = 0;
    const long long value = std::strtoll(text, &end, 10);
    if (end == text || *end != '\0' || errno != 0 || value < min) {
        throw UsageError(flag + " expects an integer >= " + std::to_string(min) + ", got '" + text + "'");
    }
    return value;
}

Options parse(int argc, char **argv) {
    Options o;
    std::vector<std::string> positional;
    bool top_given = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> const char * {
            if (i + 1 >= argc) throw UsageError(arg + " expects a value");
            return argv[++i];
        };
        if (arg == "-h" || arg == "--help") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else if (arg == "--top") {
            o.top = static_cast<int>(parse_int(arg, value(), 1));
            top_given = true;
        } else if (arg == "--class") {
            if (i + 1 >= argc || argv[i + 1][0] == '-') throw UsageError("--class expects at least one class index");
            while (i + 1 < argc && argv[i + 1][0] != '-') o.classes.push_back(parse_int(arg, argv[++i], 0));
        } else if (arg == "--cskip") {
            o.cskip = parse_int(arg, value(), 0);
        } else if (arg == "--batch-size") {
            o.batch_size = parse_int(arg, value(), 1);
        } else if (arg.size() > 1 && arg[0] == '-') {
            throw UsageError("unknown option " + arg);
        } else {
            positional.push_back(arg);
        }
    }
    if (positional.size() != 3) throw UsageError("expected MODEL.onnx IMAGE OUTDIR");
    if (top_given && !o.classes.empty()) throw UsageError("--top and --class exclude each other");
    o.model = positional[0];
    o.image = positional[1];
    o.outdir = positional[2];
    return o;
}

// A 4-D float32 blob over the given data (not copied).
cv::Mat nchw_blob(const float *data, int64_t n, int64_t c, int64_t h, int64_t w) {
    const int dims[4] = {static_cast<int>(n), static_cast<int>(c), static_cast<int>(h), static_cast<int>(w)};
    return cv::Mat(4, dims, CV_32F, const_cast<float *>(data));
}

// uint8 RGB (H, W, 3) -> float32 NCHW (1, 3, H, W): /255, then ImageNet mean and std.
std::vector<float> normalize(const cv::Mat &rgb) {
    const int h = rgb.rows, w = rgb.cols;
    std::vector<float> x(static_cast<std::size_t>(3) * h * w);
    for (int y = 0; y < h; ++y) {
        const uint8_t *row = rgb.ptr<uint8_t>(y);
        for (int xx = 0; xx < w; ++xx) {
            for (int ch = 0; ch < 3; ++ch) {
                const float v = static_cast<float>(row[3 * xx + ch]) / 255.0f;
                x[(static_cast<std::size_t>(ch) * h + y) * w + xx] = (v - kMean[ch]) / kStd[ch];
            }
        }
    }
    return x;
}

// Half the image, half the JET colormap of the min-max normalized map.
cv::Mat overlay(const cv::Mat &bgr, const float *map, int h, int w) {
    const cv::Mat heat(h, w, CV_32F, const_cast<float *>(map));
    double lo = 0, hi = 0;
    cv::minMaxLoc(heat, &lo, &hi);
    cv::Mat levels;
    const double span = hi - lo > 0 ? hi - lo : 1.0;
    heat.convertTo(levels, CV_8U, 255.0 / span, -lo * 255.0 / span);
    cv::Mat colored, blended;
    cv::applyColorMap(levels, colored, cv::COLORMAP_JET);
    cv::addWeighted(bgr, 0.5, colored, 0.5, 0.0, blended);
    return blended;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run(const Options &o) {
    namespace fs = std::filesystem;
    if (!fs::is_regular_file(o.model)) {
        throw std::runtime_error("model not found: " + o.model +
                                 " (build it with: python -m scorecam.models._lite0 " + o.model + ")");
    }
    if (!fs::is_regular_file(o.image)) throw std::runtime_error("image not found: " + o.image);

    // ---- the model ----
    cv::dnn::Net net = cv::dnn::readNetFromONNX(o.model);
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);

    // ---- the image: RGB, 224x224 bicubic, normalized, NCHW ----
    const cv::Mat original = cv::imread(o.image, cv::IMREAD_COLOR);
    if (original.empty()) throw std::runtime_error("cannot decode image: " + o.image);
    cv::Mat bgr, rgb;
    cv::resize(original, bgr, cv::Size(kSize, kSize), 0, 0, cv::INTER_CUBIC);
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    const std::vector<float> input = normalize(rgb);
    std::printf("model: %s (OpenCV %s, libscorecam %s)\n", o.model.c_str(), CV_VERSION, scorecam::version().c_str());
    std::printf("image: %s (%dx%d -> %dx%d)\n", o.image.c_str(), original.cols, original.rows, kSize, kSize);

    // ---- one forward pass: logits and the explained layer's activations at once ----
    const auto start = std::chrono::steady_clock::now();
    net.setInput(nchw_blob(input.data(), 1, 3, kSize, kSize));
    std::vector<cv::Mat> outs;
    net.forward(outs, std::vector<cv::String>{kLayer, kOutput});
    const cv::Mat &acts = outs[0];
    const cv::Mat logits = outs[1].reshape(1, 1); // 1 x D
    if (acts.dims != 4 || acts.size[0] != 1) throw std::runtime_error(std::string("unexpected shape of ") + kLayer);
    const int64_t k = acts.size[1], ah = acts.size[2], aw = acts.size[3];
    const int64_t num_outputs = static_cast<int64_t>(logits.total());
    const std::vector<float> activations(acts.ptr<float>(), acts.ptr<float>() + acts.total());

    // Softmax and ranking.
    std::vector<double> prob(static_cast<std::size_t>(num_outputs));
    const float *z = logits.ptr<float>();
    const float zmax = *std::max_element(z, z + num_outputs);
    double sum = 0;
    for (int64_t i = 0; i < num_outputs; ++i) sum += prob[i] = std::exp(static_cast<double>(z[i] - zmax));
    for (double &p : prob) p /= sum;
    std::vector<int64_t> ranked(static_cast<std::size_t>(num_outputs));
    std::iota(ranked.begin(), ranked.end(), 0);
    std::stable_sort(ranked.begin(), ranked.end(), [&](int64_t a, int64_t b) { return prob[a] > prob[b]; });

    std::vector<int64_t> classes = o.classes;
    if (classes.empty()) {
        classes.assign(ranked.begin(), ranked.begin() + std::min<int64_t>(o.top, num_outputs));
    }
    for (int64_t c : classes) {
        if (c >= num_outputs) {
            throw std::runtime_error("class " + std::to_string(c) + " out of range: the model has " +
                                     std::to_string(num_outputs) + " classes");
        }
    }
    std::printf("predicted:");
    for (std::size_t i = 0; i < 3 && i < ranked.size(); ++i) std::printf(" %lld (%.3f)", (long long)ranked[i], prob[ranked[i]]);
    std::printf("\n");
    for (std::size_t i = 0; i < 3 && i < ranked.size(); ++i) std::printf("top class=%lld p=%.4f\n", (long long)ranked[i], prob[ranked[i]]);

    // ---- the explainer: the forward callback runs the same net on the masked batch ----
    std::size_t masked_images = 0, batches = 0;
    scorecam::Explainer explainer; // the "seed" preset
    explainer.set_param(scorecam::Param::BatchSize, static_cast<double>(o.batch_size));
    if (o.cskip > 0 && o.cskip < k) {
        explainer.set_cskip(o.cskip);
    } else {
        explainer.set_param(scorecam::Param::Selection, scorecam::Selection::All);
    }
    explainer.set_forward(
        [&](const float *images, int64_t n, int64_t c, int64_t h, int64_t w, float *outputs, int64_t output_dim) {
            // A copy: the engine's buffer is only valid during this call, the net keeps its input.
            net.setInput(nchw_blob(images, n, c, h, w).clone());
            const cv::Mat out = net.forward(kOutput);
            if (static_cast<int64_t>(out.total()) != n * output_dim) {
                throw std::runtime_error("forward: the model gave " + std::to_string(out.total()) + " values for " +
                                         std::to_string(n) + " x " + std::to_string(output_dim));
            }
            std::memcpy(outputs, out.ptr<float>(), sizeof(float) * out.total());
            masked_images += static_cast<std::size_t>(n);
            batches += 1;
        },
        num_outputs);

    const auto explain_start = std::chrono::steady_clock::now();
    const std::vector<float> maps = explainer.compute(input, {1, 3, kSize, kSize}, activations, {1, k, ah, aw}, classes);
    const double explain_seconds = seconds_since(explain_start);
    const double total_seconds = seconds_since(start);
    const scorecam::DetailCounts counts = explainer.detail_counts(0);
    std::printf("explained %zu class(es) from %zu of %lld channels with %zu forward passes "
                "(%zu masked in %zu batch(es) + 1 unmasked) in %.2f s (%.2f s with the first pass)\n",
                classes.size(), counts.num_channels, (long long)k, masked_images + 1, masked_images, batches,
                explain_seconds, total_seconds);

    // ---- outputs: the peak of each map and one overlay per class ----
    fs::create_directories(o.outdir);
    const std::string stem = fs::path(o.image).stem().string();
    const std::size_t plane = static_cast<std::size_t>(kSize) * kSize;
    for (std::size_t t = 0; t < classes.size(); ++t) {
        const float *map = maps.data() + t * plane;
        const std::size_t peak = static_cast<std::size_t>(std::max_element(map, map + plane) - map);
        std::printf("peak class=%lld y=%zu x=%zu\n", (long long)classes[t], peak / kSize, peak % kSize);
        const std::string path = (fs::path(o.outdir) / (stem + "_" + std::to_string(classes[t]) + ".png")).string();
        if (!cv::imwrite(path, overlay(bgr, map, kSize, kSize))) throw std::runtime_error("cannot write " + path);
        std::printf("wrote %s\n", path.c_str());
    }
    return 0;
}

} // namespace

int main(int argc, char **argv) {
    try {
        return run(parse(argc, argv));
    } catch (const UsageError &e) {
        std::fprintf(stderr, "explain_opencv: %s\n%s", e.what(), kUsage);
        return 2;
    } catch (const scorecam::Error &e) {
        std::fprintf(stderr, "explain_opencv: scorecam: %s (%s)\n", e.what(), e.status_name());
    } catch (const cv::Exception &e) {
        std::fprintf(stderr, "explain_opencv: OpenCV: %s\n", e.what());
    } catch (const std::exception &e) {
        std::fprintf(stderr, "explain_opencv: %s\n", e.what());
    }
    return 1;
}
