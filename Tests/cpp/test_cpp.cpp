// The C++ binding (bindings/cpp/scorecam.hpp): RAII and moves, exceptions thrown by callbacks coming
// back out of compute() with their own type, cancellation, errors carrying the engine's message,
// multi-target equals per-target, details and parameters. Runs under ASan/LSan + UBSan.
#include "scorecam.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "check.hpp"

// `body` must throw scorecam::Error with `status` and a message containing `substring`. If
// `engine` is true the message must be the engine's own: the thread's last error, verbatim.
template <class Body>
static void expect_error(int line, int status, const char *substring, bool engine, Body &&body) {
    g_checks++;
    try {
        body();
        g_failures++;
        std::fprintf(stderr, "%s:%d: expected scorecam::Error %d, nothing thrown\n", __FILE__, line, status);
    } catch (const scorecam::Error &e) {
        const std::string what = e.what();
        bool ok = e.status() == status && static_cast<int>(e.code()) == status && !what.empty() &&
                  what.find(substring) != std::string::npos &&
                  std::strcmp(e.status_name(), scorecam_status_string(status)) == 0;
        if (engine) ok = ok && what == scorecam::last_error();
        if (!ok) {
            g_failures++;
            std::fprintf(stderr, "%s:%d: expected status %d with \"%s\"%s, got %d: \"%s\" (thread: \"%s\")\n",
                         __FILE__, line, status, substring, engine ? " from the engine" : "", e.status(),
                         what.c_str(), scorecam_last_error());
        }
    } catch (const std::exception &e) {
        g_failures++;
        std::fprintf(stderr, "%s:%d: expected scorecam::Error, got %s: %s\n", __FILE__, line, typeid(e).name(),
                     e.what());
    }
}
#define EXPECT_ERROR(status, substring, engine, ...) expect_error(__LINE__, status, substring, engine, [&] { __VA_ARGS__; })

// ---- a deterministic linear model -----------------------------------------------------------

enum : int64_t { C = 3, H = 10, W = 12, K = 5, AH = 3, AW = 4, D = 6 };

static float lcg(unsigned &state) {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) / 16777216.0f;
}

struct LinearModel {
    std::vector<float> weight = std::vector<float>(static_cast<size_t>(D * C * H * W));
    std::vector<float> bias = std::vector<float>(static_cast<size_t>(D));
    int calls = 0;

    explicit LinearModel(unsigned seed) {
        for (float &v : weight) v = (lcg(seed) - 0.5f) * 0.2f;
        for (float &v : bias) v = lcg(seed) - 0.5f;
    }

    void operator()(const float *images, int64_t n, int64_t c, int64_t h, int64_t w, float *outputs,
                    int64_t output_dim) {
        calls++;
        if (c * h * w != C * H * W || output_dim != D) throw std::logic_error("unexpected shape");
        for (int64_t i = 0; i < n; i++)
            for (int64_t o = 0; o < D; o++) {
                double sum = bias[static_cast<size_t>(o)];
                for (int64_t j = 0; j < C * H * W; j++)
                    sum += static_cast<double>(weight[static_cast<size_t>(o * C * H * W + j)]) * images[i * C * H * W + j];
                outputs[i * output_dim + o] = static_cast<float>(sum);
            }
    }
};

// The same model behind the plain C API, for reference results.
static int c_forward(void *user_data, const float *images, int64_t n, int64_t c, int64_t h, int64_t w,
                     float *outputs, int64_t output_dim) {
    (*static_cast<LinearModel *>(user_data))(images, n, c, h, w, outputs, output_dim);
    return 0;
}

struct Data {
    std::vector<float> x, acts;
    scorecam::Shape x_shape, acts_shape;
};

static Data make_data(int64_t b, unsigned seed) {
    Data d;
    d.x.resize(static_cast<size_t>(b * C * H * W));
    d.acts.resize(static_cast<size_t>(b * K * AH * AW));
    for (float &v : d.x) v = lcg(seed);
    for (float &v : d.acts) v = lcg(seed) * 3.0f;
    d.x_shape = {b, C, H, W};
    d.acts_shape = {b, K, AH, AW};
    return d;
}

// Image i of a batch, as a batch of one.
static Data slice(const Data &d, int64_t i) {
    Data s;
    s.x.assign(d.x.begin() + i * C * H * W, d.x.begin() + (i + 1) * C * H * W);
    s.acts.assign(d.acts.begin() + i * K * AH * AW, d.acts.begin() + (i + 1) * K * AH * AW);
    s.x_shape = {1, C, H, W};
    s.acts_shape = {1, K, AH, AW};
    return s;
}

// The maps straight from the C API with default parameters but batch size 2.
static std::vector<float> reference_maps(LinearModel &model, const Data &d, const std::vector<int64_t> &targets) {
    scorecam_explainer *e = nullptr;
    std::vector<float> maps(static_cast<size_t>(d.x_shape.n) * targets.size() * H * W);
    CHECK(scorecam_explainer_create(&e) == SCORECAM_OK);
    CHECK(scorecam_explainer_set_forward(e, c_forward, D, &model) == SCORECAM_OK);
    CHECK(scorecam_explainer_set_param(e, SCORECAM_PARAM_BATCH_SIZE, 2) == SCORECAM_OK);
    CHECK(scorecam_explainer_compute(maps.data(), maps.size(), e, d.x.data(), d.x_shape.n, C, H, W, d.acts.data(), K,
                                     AH, AW, targets.data(), targets.size()) == SCORECAM_OK);
    scorecam_explainer_destroy(e);
    return maps;
}

static bool same_bits(const std::vector<float> &a, const std::vector<float> &b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

static bool same_bits(const float *a, const float *b, size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; }

// An explainer for `model` with batch size 2.
static scorecam::Explainer make_explainer(LinearModel &model) {
    scorecam::Explainer e;
    e.set_forward(std::ref(model), D).set_param(scorecam::Param::BatchSize, 2);
    return e;
}

// Exception types that are not scorecam::Error, and one that is not even a std::exception.
struct ModelFailure {
    int code;
};
class DeviceLost : public std::runtime_error {
public:
    explicit DeviceLost(const std::string &what) : std::runtime_error(what) {}
};
// Counts live instances: an exception kept alive by the wrapper after compute() would show here.
struct Tracked {
    static int live;
    std::string payload;
    std::vector<int> more;
    explicit Tracked(std::string p) : payload(std::move(p)), more(1000, 7) { live++; }
    Tracked(const Tracked &other) : payload(other.payload), more(other.more) { live++; }
    Tracked &operator=(const Tracked &) = default;
    ~Tracked() { live--; }
};
int Tracked::live = 0;

// ---- tests ----------------------------------------------------------------------------------

static void test_version() {
    char expected[32];
    std::snprintf(expected, sizeof expected, "%d.%d.%d", SCORECAM_VERSION_MAJOR, SCORECAM_VERSION_MINOR,
                  SCORECAM_VERSION_PATCH);
    CHECK(scorecam::version() == expected);
    CHECK(scorecam::version_number() == SCORECAM_VERSION_NUMBER);
    CHECK(scorecam::header_version_number() == SCORECAM_VERSION_NUMBER);
    scorecam::check_version(); // must not throw
    CHECK(std::string(scorecam::status_string(scorecam::Status::Cancelled)).find("CANCELLED") != std::string::npos);
}

static void test_raii(LinearModel &model, const Data &d, const std::vector<float> &ref) {
    // Many create/destroy pairs, some with callbacks holding resources.
    auto token = std::make_shared<int>(0);
    for (int i = 0; i < 300; i++) {
        scorecam::Explainer e;
        CHECK(static_cast<bool>(e) && e.get() != nullptr);
        if (i % 3 == 0) {
            e.set_forward([token](const float *, int64_t, int64_t, int64_t, int64_t, float *, int64_t) {}, D);
            e.set_progress([token](size_t, size_t) { return true; });
        }
    }
    CHECK(token.use_count() == 1); // the callbacks died with their explainers

    // A vector of explainers grows (moving them); each keeps calling its own callback.
    std::vector<scorecam::Explainer> many;
    std::vector<int> calls(12, 0);
    for (size_t i = 0; i < calls.size(); i++) {
        scorecam::Explainer e;
        e.set_forward(
             [&model, &calls, i](const float *images, int64_t n, int64_t c, int64_t h, int64_t w, float *out,
                                 int64_t dim) {
                 calls[i]++;
                 model(images, n, c, h, w, out, dim);
             },
             D)
            .set_param(scorecam::Param::BatchSize, 2);
        many.push_back(std::move(e));
        CHECK(!e); // NOLINT(bugprone-use-after-move): moved-from is empty
    }
    for (size_t i = 0; i < many.size(); i += 5) {
        const std::vector<float> maps = many[i].compute(d.x, d.x_shape, d.acts, d.acts_shape, {4});
        CHECK(same_bits(maps, ref));
        CHECK(calls[i] == 3); // K = 5 masked images in batches of 2
    }
    CHECK(calls[1] == 0 && calls[11] == 0);
}

static void test_moves(LinearModel &model, const Data &d, const std::vector<float> &ref) {
    scorecam::Explainer a = make_explainer(model);
    int progress_calls = 0;
    a.set_progress([&](size_t, size_t) { return ++progress_calls > 0; });
    a.set_param(scorecam::Param::Threads, 1);

    // Move-construct: the moved-to object computes, with the callbacks and parameters of the old.
    scorecam::Explainer b(std::move(a));
    CHECK(!a && static_cast<bool>(b)); // NOLINT(bugprone-use-after-move)
    CHECK(b.get_param<int64_t>(scorecam::Param::BatchSize) == 2 && b.get_param("threads") == 1);
    CHECK(same_bits(b.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4}), ref));
    CHECK(progress_calls == 3);

    // The moved-from object fails cleanly on use.
    EXPECT_ERROR(SCORECAM_E_NULL_POINTER, "moved-from", false, a.set_param("batch_size", 4)); // NOLINT
    EXPECT_ERROR(SCORECAM_E_NULL_POINTER, "moved-from", false, a.get_param(scorecam::Param::Threads));
    EXPECT_ERROR(SCORECAM_E_NULL_POINTER, "moved-from", false,
                 a.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4}));
    EXPECT_ERROR(SCORECAM_E_NULL_POINTER, "moved-from", false, a.set_forward(std::ref(model), D));
    EXPECT_ERROR(SCORECAM_E_NULL_POINTER, "moved-from", false, a.details(0));
    CHECK(a.last_error().empty());

    // Move-assign over an explainer with its own callbacks: those are released, b's now run.
    auto token = std::make_shared<int>(0);
    scorecam::Explainer c;
    c.set_forward([token](const float *, int64_t, int64_t, int64_t, int64_t, float *, int64_t) {}, D);
    c.set_scoring([token](const float *, int64_t, int64_t, const int64_t *, size_t, float *) {});
    CHECK(token.use_count() == 3);
    c = std::move(b);
    CHECK(token.use_count() == 1);
    CHECK(!b && static_cast<bool>(c)); // NOLINT(bugprone-use-after-move)
    CHECK(same_bits(c.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4}), ref));
    CHECK(progress_calls == 6);
    CHECK(c.details(0).num_channels == static_cast<size_t>(K));

    // A moved-from object can be assigned a fresh explainer and used again.
    a = scorecam::Explainer();
    CHECK(static_cast<bool>(a));
    EXPECT_ERROR(SCORECAM_E_NO_FORWARD, "", true, a.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4}));
    a.set_forward(std::ref(model), D).set_param(scorecam::Param::BatchSize, 2);
    CHECK(same_bits(a.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4}), ref));
    // b (moved-from) and the rest are destroyed at the end of the scope.
}

static void test_forward_throws(LinearModel &model, const Data &d, const std::vector<float> &ref) {
    int fail_on = 2, calls = 0;
    scorecam::Explainer e;
    e.set_forward(
         [&](const float *images, int64_t n, int64_t c, int64_t h, int64_t w, float *out, int64_t dim) {
             if (++calls == fail_on) throw ModelFailure{77};
             model(images, n, c, h, w, out, dim);
         },
         D)
        .set_param(scorecam::Param::BatchSize, 2);

    // Not a std::exception at all: comes back as itself.
    bool caught = false;
    try {
        (void)e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4});
    } catch (const ModelFailure &f) {
        caught = f.code == 77;
    } catch (...) {
        caught = false;
    }
    CHECK(caught);
    CHECK(calls == 2); // the run stopped at the failing batch

    // The explainer is reusable and gives the same maps as ever.
    calls = 0;
    fail_on = -1;
    CHECK(same_bits(e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4}), ref));
    CHECK(e.last_error().empty());

    // A std::runtime_error subclass: the very type, not a scorecam::Error, not sliced.
    calls = 0;
    fail_on = 1;
    e.set_forward(
        [&](const float *, int64_t, int64_t, int64_t, int64_t, float *, int64_t) {
            if (++calls == fail_on) throw DeviceLost("cuda device lost");
        },
        D);
    caught = false;
    try {
        std::vector<float> maps(static_cast<size_t>(H * W), -1.0f);
        e.compute(maps.data(), maps.size(), d.x.data(), 1, C, H, W, d.acts.data(), K, AH, AW,
                  std::vector<int64_t>{4}.data(), 1);
    } catch (const scorecam::Error &) {
        caught = false;
    } catch (const DeviceLost &err) {
        caught = typeid(err) == typeid(DeviceLost) && std::string(err.what()) == "cuda device lost";
    }
    CHECK(caught);

    // An exception of a counted type is released once caught: the wrapper keeps no copy.
    e.set_forward([](const float *, int64_t, int64_t, int64_t, int64_t, float *, int64_t) {
        throw Tracked("forward failed");
    }, D);
    caught = false;
    try {
        (void)e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4});
    } catch (const Tracked &t) {
        caught = t.payload == "forward failed" && Tracked::live >= 1;
    }
    CHECK(caught);
    CHECK(Tracked::live == 0);

    // Back to the model: still fine.
    e.set_forward(std::ref(model), D);
    CHECK(same_bits(e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4}), ref));
}

static void test_scoring(LinearModel &model, const Data &d, const std::vector<float> &ref) {
    scorecam::Explainer e = make_explainer(model);
    int scoring_calls = 0;
    static const int64_t unset = -1;
    const int64_t *seen_targets = &unset;
    // output[t] - output[0]; targets it does not know are the host's error.
    e.set_scoring([&](const float *outputs, int64_t n, int64_t dim, const int64_t *targets, size_t nt,
                      float *scores) {
        scoring_calls++;
        seen_targets = targets;
        for (int64_t i = 0; i < n; i++)
            for (size_t t = 0; t < nt; t++) {
                const int64_t target = targets != nullptr ? targets[t] : 1;
                if (target < 0 || target >= dim) throw std::out_of_range("no class " + std::to_string(target));
                scores[static_cast<size_t>(i) * nt + t] = outputs[i * dim + target] - outputs[i * dim];
            }
    });

    bool caught = false;
    try {
        (void)e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {1, 99});
    } catch (const std::out_of_range &err) {
        caught = std::string(err.what()) == "no class 99";
    }
    CHECK(caught && scoring_calls == 1);

    // Reusable; the callback really is used; targets reach it unchanged, NULL included.
    const std::vector<float> contrast = e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4});
    CHECK(scoring_calls == 4 && seen_targets != nullptr);
    CHECK(contrast.size() == ref.size() && !same_bits(contrast, ref));
    std::vector<float> null_targets;
    e.compute_into(null_targets, d.x, d.x_shape, d.acts, d.acts_shape, nullptr, 1);
    CHECK(seen_targets == nullptr && null_targets.size() == static_cast<size_t>(H * W));

    // Unset: the default scoring again.
    e.set_scoring(nullptr);
    CHECK(same_bits(e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4}), ref));
    EXPECT_ERROR(SCORECAM_E_INVALID_ARGUMENT, "99", true, e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {1, 99}));
}

static void test_progress(LinearModel &model, const Data &d, const std::vector<float> &ref) {
    scorecam::Explainer e = make_explainer(model);
    std::vector<std::pair<size_t, size_t>> seen;
    e.set_progress([&](size_t done, size_t total) {
        seen.emplace_back(done, total);
        return true;
    });
    CHECK(same_bits(e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4}), ref));
    CHECK(seen.size() == 3 && seen.back().first == static_cast<size_t>(K) && seen.back().second == static_cast<size_t>(K));
    for (size_t i = 1; i < seen.size(); i++) CHECK(seen[i].first > seen[i - 1].first);

    // Returning false cancels: a scorecam::Error with the engine's status and message.
    model.calls = 0;
    e.set_progress([](size_t done, size_t) { return done < 2; });
    bool caught = false;
    try {
        (void)e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4});
    } catch (const scorecam::Error &err) {
        caught = err.status() == SCORECAM_E_CANCELLED && err.code() == scorecam::Status::Cancelled &&
                 std::string(err.what()) == e.last_error() && !e.last_error().empty() &&
                 std::string(err.status_name()).find("CANCELLED") != std::string::npos;
    }
    CHECK(caught);
    CHECK(model.calls == 1); // cancelled after the first batch
    EXPECT_ERROR(SCORECAM_E_NO_RESULT, "", true, e.details(0)); // a cancelled run leaves no details

    // A progress callback that throws: the exception, not Cancelled.
    e.set_progress([](size_t, size_t) -> bool { throw DeviceLost("progress bar gone"); });
    caught = false;
    try {
        (void)e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4});
    } catch (const DeviceLost &err) {
        caught = std::string(err.what()) == "progress bar gone";
    }
    CHECK(caught);

    e.set_progress(nullptr);
    CHECK(same_bits(e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4}), ref));
}

static void test_multi_target(LinearModel &model) {
    const Data d = make_data(2, 21);
    const std::vector<int64_t> targets = {4, 1, 2};
    scorecam::Explainer e = make_explainer(model);
    const std::vector<float> maps = e.compute(d.x, d.x_shape, d.acts, d.acts_shape, targets);
    CHECK(maps.size() == static_cast<size_t>(2 * 3 * H * W));
    CHECK(same_bits(maps, reference_maps(model, d, targets))); // the wrapper forwards faithfully

    const scorecam::Details both = e.details(1);
    CHECK(both.num_targets == 3);
    for (int64_t b = 0; b < 2; b++) {
        const Data one = slice(d, b);
        for (size_t t = 0; t < targets.size(); t++) {
            const std::vector<float> single = e.compute(one.x, one.x_shape, one.acts, one.acts_shape, {targets[t]});
            CHECK(single.size() == static_cast<size_t>(H * W));
            CHECK(same_bits(single.data(), maps.data() + (static_cast<size_t>(b) * 3 + t) * H * W,
                            static_cast<size_t>(H * W)));
        }
    }

    // The raw overload into a caller buffer agrees as well.
    std::vector<float> raw(maps.size() + 5, -7.0f);
    e.compute(raw.data(), raw.size(), d.x.data(), 2, C, H, W, d.acts.data(), K, AH, AW, targets.data(),
              targets.size());
    CHECK(same_bits(raw.data(), maps.data(), maps.size()));
    CHECK(raw.back() == -7.0f);
}

// Each image its own targets: the same bits as each image alone, one engine call; bad tables refused.
static void test_per_image(LinearModel &model) {
    const Data d = make_data(3, 31);
    const std::vector<int64_t> table = {4, 1, /* image 1 */ 0, 3, /* image 2 */ 2, 2};
    scorecam::Explainer e = make_explainer(model);
    const std::vector<float> maps = e.compute_per_image(d.x, d.x_shape, d.acts, d.acts_shape, table, 2);
    CHECK(maps.size() == static_cast<size_t>(3 * 2 * H * W));
    const std::vector<double> values =
        e.evaluate_per_image(scorecam::Metric::Insertion, d.x, d.x_shape, maps, H, W, table, 2);
    CHECK(values.size() == 6);
    for (int64_t b = 0; b < 3; b++) {
        const Data one = slice(d, b);
        const std::vector<int64_t> own(table.begin() + b * 2, table.begin() + (b + 1) * 2);
        const std::vector<float> alone = e.compute(one.x, one.x_shape, one.acts, one.acts_shape, own);
        CHECK(same_bits(alone.data(), maps.data() + static_cast<size_t>(b) * 2 * H * W, alone.size()));
        const std::vector<float> own_maps(maps.begin() + b * 2 * H * W, maps.begin() + (b + 1) * 2 * H * W);
        const std::vector<double> own_values =
            e.evaluate(scorecam::Metric::Insertion, one.x, one.x_shape, own_maps, H, W, own);
        CHECK(own_values[0] == values[static_cast<size_t>(b) * 2] && own_values[1] == values[static_cast<size_t>(b) * 2 + 1]);
    }
    EXPECT_ERROR(SCORECAM_E_INVALID_ARGUMENT, "images x targets_per_image", false,
                 e.compute_per_image(d.x, d.x_shape, d.acts, d.acts_shape, {1, 2, 3}, 2));
    EXPECT_ERROR(SCORECAM_E_INVALID_ARGUMENT, "images x targets_per_image", false,
                 e.evaluate_per_image(scorecam::Metric::Deletion, d.x, d.x_shape, maps, H, W, table, 0));
    EXPECT_ERROR(SCORECAM_E_INVALID_ARGUMENT, "image 1's target 0 is class 9", true,
                 e.compute_per_image(d.x, d.x_shape, d.acts, d.acts_shape, {1, 2, 9, 3, 2, 2}, 2));
}

static void test_details(LinearModel &model, const Data &d) {
    scorecam::Explainer e = make_explainer(model);
    EXPECT_ERROR(SCORECAM_E_NO_RESULT, "", true, e.details(0));
    (void)e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4, 0});
    const scorecam::DetailCounts counts = e.detail_counts(0);
    CHECK(counts.num_channels == static_cast<size_t>(K) && counts.num_targets == 2);
    const scorecam::Details s = e.details(0);
    CHECK(s.num_channels == static_cast<size_t>(K) && s.num_targets == 2);
    CHECK(s.channels.size() == static_cast<size_t>(K) && s.scores.size() == static_cast<size_t>(2 * K) &&
          s.weights.size() == static_cast<size_t>(2 * K) && s.base_scores.size() == 2);
    for (int64_t k = 0; k < K; k++) CHECK(s.channels[static_cast<size_t>(k)] == k); // ALL: in order
    for (size_t t = 0; t < 2; t++) {
        double sum = 0;
        for (size_t k = 0; k < static_cast<size_t>(K); k++) sum += s.weights[k * 2 + t];
        CHECK(std::fabs(sum - 1.0) < 1e-5); // softmax weights
        CHECK(std::isnan(s.base_scores[t]));  // softmax is invariant to the base: not computed
    }
    EXPECT_ERROR(SCORECAM_E_INVALID_ARGUMENT, "", true, e.details(1));

    // Raw weighting needs the base score; CSKIP keeps K' channels.
    e.set_param(scorecam::Param::Weighting, scorecam::Weighting::Raw).set_cskip(2);
    (void)e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4});
    const scorecam::Details r = e.details(0);
    CHECK(r.num_channels == 2 && r.channels.size() == 2 && r.num_targets == 1);
    CHECK(std::isfinite(r.base_scores[0]));
    for (size_t k = 0; k < 2; k++) CHECK(r.weights[k] == r.scores[k] - r.base_scores[0]);
}

// Explicit channels: the host's list is explained as given; an empty list restores the selection.
// Parameters by the library's own names: every one the header declares, with its default.
static void test_param_table() {
    const std::vector<scorecam::ParamInfo> table = scorecam::param_table();
    CHECK(table.size() == scorecam_param_count());
    CHECK(table.size() == 28);
    scorecam::Explainer e;
    for (const scorecam::ParamInfo &info : table) {
        CHECK(!info.name.empty() && info.name.find("scorecam") == std::string::npos);
        CHECK(e.get_param(info.name) == info.default_value);
        CHECK(e.get_param(static_cast<scorecam::Param>(info.param)) == info.default_value);
    }
    e.set_param("norm_eps", 1e-6).set_param("batch_memory", 1 << 20);
    CHECK(e.get_param(scorecam::Param::NormEps) == 1e-6);
    CHECK(e.get_param(scorecam::Param::BatchMemory) == 1 << 20);
    bool threw = false;
    try {
        e.set_param("eps", 1e-6);
    } catch (const scorecam::Error &error) {
        threw = error.status() == SCORECAM_E_INVALID_ARGUMENT && std::string(error.what()).find("\"eps\"") != std::string::npos;
    }
    CHECK(threw);
}

static void test_channels(LinearModel &model, const Data &d) {
    scorecam::Explainer e = make_explainer(model);
    e.set_cskip(3);
    const std::vector<float> cskip = e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4});
    const std::vector<int64_t> plan = e.details(0).channels;
    e.set_param(scorecam::Param::Selection, scorecam::Selection::All).set_channels({plan[2], plan[0], plan[1]});
    CHECK(e.channel_count() == 3);
    const std::vector<float> given = e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4});
    CHECK(e.details(0).channels == (std::vector<int64_t>{plan[2], plan[0], plan[1]}));
    CHECK(given.size() == cskip.size());
    for (size_t i = 0; i < given.size(); i++) CHECK(std::fabs(given[i] - cskip[i]) <= 1e-6f * (1 + std::fabs(cskip[i])));
    EXPECT_ERROR(SCORECAM_E_INVALID_ARGUMENT, "listed twice", true, e.set_channels({1, 1}));
    e.set_channels({});
    CHECK(e.channel_count() == 0);
}

// Every parameter through set_param / get_param: enums of the header, bools and numbers, by Param or
// by the library's name, typed on the way back with get_param<T>.
static void test_params() {
    using namespace scorecam;
    Explainer e("seed");
    CHECK(e.get_param<int64_t>(Param::BatchSize) == 128 && e.get_param<Upsample>(Param::Upsample) == Upsample::Bicubic &&
          e.get_param<Selection>("selection") == Selection::All && e.get_param<int>(Param::SelectionCount) == 16 &&
          !e.get_param<bool>(Param::SkipConstant) && e.get_param<bool>("subtract_base") &&
          e.get_param<Weighting>(Param::Weighting) == Weighting::Softmax && e.get_param<Score>("score") == Score::Logit &&
          e.get_param<Method>(Param::Method) == Method::ScoreCAM &&
          e.get_param<Upsample>(Param::MapUpsample) == Upsample::AsMasks && e.get_param<double>(Param::NormEps) == 1e-10);
    e.set_param(Param::BatchSize, 7)
        .set_param(Param::Upsample, Upsample::BilinearAlignCorners)
        .set_param("selection", Selection::Std)
        .set_param("selection_count", 3)
        .set_param(Param::SkipConstant, true)
        .set_param(Param::Weighting, Weighting::Raw)
        .set_param("subtract_base", false)
        .set_param(Param::Score, Score::Softmax)
        .set_param(Param::Baseline, -0.5)
        .set_param(Param::Threads, 2);
    // The engine holds the C values the typed calls stand for.
    CHECK(static_cast<int>(e.get_param(Param::Upsample)) == SCORECAM_UPSAMPLE_BILINEAR_ALIGN_CORNERS &&
          static_cast<int>(e.get_param("selection")) == SCORECAM_SELECTION_STD &&
          static_cast<int>(e.get_param(Param::Weighting)) == SCORECAM_WEIGHTING_RAW &&
          static_cast<int>(e.get_param("score")) == SCORECAM_SCORE_SOFTMAX && e.get_param(Param::SkipConstant) == 1 &&
          e.get_param(Param::SubtractBase) == 0);
    CHECK(e.get_param<int64_t>("batch_size") == 7 && e.get_param<Selection>(Param::Selection) == Selection::Std &&
          e.get_param<int>(Param::SelectionCount) == 3 && e.get_param<bool>("skip_constant") &&
          !e.get_param<bool>(Param::SubtractBase) && e.get_param<double>(Param::Baseline) == -0.5 &&
          e.get_param<float>("baseline") == -0.5f && e.get_param<Upsample>("upsample") == Upsample::BilinearAlignCorners);
    e.set_cskip(5);
    CHECK(e.get_param<Selection>(Param::Selection) == Selection::Max && e.get_param<int64_t>(Param::SelectionCount) == 5);
    e.set_param(Param::Upsample, SCORECAM_UPSAMPLE_BILINEAR); // a C enum value works too
    CHECK(e.get_param<Upsample>(Param::Upsample) == Upsample::Bilinear);
    EXPECT_ERROR(SCORECAM_E_INVALID_ARGUMENT, "\"no_such\"", false, e.set_param("no_such", Selection::Max));
    EXPECT_ERROR(SCORECAM_E_INVALID_ARGUMENT, "\"no_such\"", false, e.get_param<bool>("no_such"));

    // The preset resets everything but the execution knobs.
    e.set_preset("seed");
    CHECK(e.get_param<int64_t>(Param::BatchSize) == 7 && e.get_param<int64_t>(Param::Threads) == 2 &&
          e.get_param<Selection>(Param::Selection) == Selection::All && e.get_param(Param::NormEps) == 1e-10 &&
          e.get_param(Param::Baseline) == 0 && !e.get_param<bool>(Param::NormalizeMap) &&
          e.get_param<Upsample>(Param::Upsample) == Upsample::Bicubic);
}

// The per-parameter accessors of earlier versions still compile (deprecated) and forward.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static void test_deprecated_accessors() {
    using namespace scorecam;
    Explainer e("seed");
    CHECK(e.batch_size() == 128 && e.upsample() == Upsample::Bicubic && e.selection() == Selection::All &&
          e.selection_count() == 16 && !e.skip_constant() && e.norm_eps() == 1e-10 &&
          e.weighting() == Weighting::Softmax && e.subtract_base() && e.score() == Score::Logit &&
          e.baseline() == 0 && !e.normalize_map() && e.threads() == 0);
    e.set_param(scorecam::Param::BatchSize, 7)
        .set_upsample(Upsample::BilinearAlignCorners)
        .set_selection(Selection::Std, 3)
        .set_skip_constant(true)
        .set_norm_eps(1e-6)
        .set_weighting(Weighting::Raw)
        .set_subtract_base(false)
        .set_score(Score::Softmax)
        .set_baseline(-0.5)
        .set_normalize_map(true)
        .set_threads(2);
    CHECK(e.batch_size() == 7 && e.upsample() == Upsample::BilinearAlignCorners && e.selection() == Selection::Std &&
          e.selection_count() == 3 && e.skip_constant() && e.norm_eps() == 1e-6 && e.weighting() == Weighting::Raw &&
          !e.subtract_base() && e.score() == Score::Softmax && e.baseline() == -0.5 && e.normalize_map() &&
          e.threads() == 2);
    e.set_cskip(5);
    CHECK(e.selection() == Selection::Max && e.selection_count() == 5);
    e.set_selection(Selection::Std);
    CHECK(e.selection() == Selection::Std);
    e.set_method(Method::SSCAM).set_samples(4).set_noise_std(0.5).set_seed(9).set_adaptive(0.1, 4);
    CHECK(e.method() == Method::SSCAM && e.get_param(Param::Samples) == 4 && e.get_param(Param::NoiseStd) == 0.5 &&
          e.get_param(Param::Seed) == 9 && e.get_param(Param::AdaptiveTolerance) == 0.1 &&
          e.get_param(Param::AdaptiveStep) == 4);
    e.set_param(Param::Upsample, SCORECAM_UPSAMPLE_BILINEAR);
    CHECK(static_cast<int>(e.get_param(Param::Upsample)) == SCORECAM_UPSAMPLE_BILINEAR && e.upsample() == Upsample::Bilinear);

    // The preset resets everything but the execution knobs.
    e.set_preset("seed");
    CHECK(e.batch_size() == 7 && e.threads() == 2 && e.selection() == Selection::All && e.norm_eps() == 1e-10 &&
          e.baseline() == 0 && !e.normalize_map() && e.upsample() == Upsample::Bicubic);
}
#pragma GCC diagnostic pop

// Explainer(nullptr) holds no handle and fails cleanly; release() hands the handle to the caller,
// with its parameters and without the wrapper's callbacks; an adopted handle is owned again.
static void test_empty_and_release(LinearModel &model, const Data &d, const std::vector<float> &ref) {
    using scorecam::Param;
    scorecam::Explainer empty(nullptr);
    CHECK(!empty && empty.get() == nullptr && empty.release() == nullptr && empty.last_error().empty());
    EXPECT_ERROR(SCORECAM_E_NULL_POINTER, "holds no handle", false, empty.set_param(Param::BatchSize, 2));
    EXPECT_ERROR(SCORECAM_E_NULL_POINTER, "holds no handle", false, empty.get_param("threads"));
    EXPECT_ERROR(SCORECAM_E_NULL_POINTER, "holds no handle", false, empty.set_preset("seed"));
    EXPECT_ERROR(SCORECAM_E_NULL_POINTER, "holds no handle", false, empty.set_forward(std::ref(model), D));
    EXPECT_ERROR(SCORECAM_E_NULL_POINTER, "holds no handle", false,
                 empty.set_progress([](size_t, size_t) { return true; }));
    EXPECT_ERROR(SCORECAM_E_NULL_POINTER, "holds no handle", false, empty.set_channels({1}));
    EXPECT_ERROR(SCORECAM_E_NULL_POINTER, "holds no handle", false, empty.map_size(H, W, AH, AW));
    EXPECT_ERROR(SCORECAM_E_NULL_POINTER, "holds no handle", false,
                 empty.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4}));
    EXPECT_ERROR(SCORECAM_E_NULL_POINTER, "holds no handle", false,
                 empty.evaluate(scorecam::Metric::AverageDrop, d.x, d.x_shape, ref, H, W, {4}));
    EXPECT_ERROR(SCORECAM_E_NULL_POINTER, "holds no handle", false, empty.details(0));
    empty = make_explainer(model); // an empty explainer can be assigned to
    CHECK(static_cast<bool>(empty) && same_bits(empty.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4}), ref));

    auto token = std::make_shared<int>(0);
    int forward_calls = 0;
    scorecam::Explainer e;
    e.set_forward(
         [&model, &forward_calls, token](const float *images, int64_t n, int64_t c, int64_t h, int64_t w, float *out,
                                         int64_t dim) {
             forward_calls++;
             model(images, n, c, h, w, out, dim);
         },
         D)
        .set_progress([token](size_t, size_t) { return true; })
        .set_param(Param::BatchSize, 2);
    scorecam_explainer *const handle = e.get();
    scorecam_explainer *raw = e.release();
    CHECK(raw == handle && raw != nullptr && !e && e.get() == nullptr && e.release() == nullptr);
    CHECK(token.use_count() == 1); // the wrapper's callbacks went with the release
    EXPECT_ERROR(SCORECAM_E_NULL_POINTER, "released", false, e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4}));
    { scorecam::Explainer gone = std::move(e); } // NOLINT: destroying an empty explainer frees nothing

    // The handle outlives its wrapper (ASan: no use after free): parameters kept, callbacks unset.
    double batch = 0;
    CHECK(scorecam_explainer_get_param(&batch, raw, SCORECAM_PARAM_BATCH_SIZE) == SCORECAM_OK && batch == 2);
    std::vector<float> maps(ref.size());
    const int64_t target = 4;
    CHECK(scorecam_explainer_compute(maps.data(), maps.size(), raw, d.x.data(), d.x_shape.n, C, H, W, d.acts.data(),
                                     K, AH, AW, &target, 1) == SCORECAM_E_NO_FORWARD);
    CHECK(forward_calls == 0);

    // Adopted back: the new wrapper owns it (LSan: no leak) and gives it callbacks of its own.
    scorecam::Explainer adopted(raw);
    CHECK(adopted.get() == raw && adopted.get_param<int64_t>(Param::BatchSize) == 2);
    adopted.set_forward(std::ref(model), D);
    CHECK(same_bits(adopted.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4}), ref));
}

static void test_errors(LinearModel &model, const Data &d, const std::vector<float> &ref) {
    scorecam::Explainer e;
    EXPECT_ERROR(SCORECAM_E_NO_FORWARD, "", true, e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4}));
    e.set_forward(std::ref(model), D).set_param(scorecam::Param::BatchSize, 2);

    // A rejected forward leaves the previous one in place.
    EXPECT_ERROR(SCORECAM_E_INVALID_ARGUMENT, "output_dim", true,
                 e.set_forward([](const float *, int64_t, int64_t, int64_t, int64_t, float *, int64_t) {
                     throw std::logic_error("must not be called");
                 }, 0));
    CHECK(same_bits(e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4}), ref));

    // Targets out of range.
    EXPECT_ERROR(SCORECAM_E_INVALID_ARGUMENT, std::to_string(D).c_str(), true,
                 e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {D}));
    EXPECT_ERROR(SCORECAM_E_INVALID_ARGUMENT, "-1", true, e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {-1}));
    EXPECT_ERROR(SCORECAM_E_INVALID_ARGUMENT, "", true, e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {}));

    // K' > K.
    e.set_cskip(K + 1);
    EXPECT_ERROR(SCORECAM_E_INVALID_ARGUMENT, "K'", true, e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4}));
    e.set_preset("seed");

    // Bad parameter values; none of them changes anything.
    EXPECT_ERROR(SCORECAM_E_INVALID_ARGUMENT, "", true, e.set_param(scorecam::Param::BatchSize, 0));
    EXPECT_ERROR(SCORECAM_E_INVALID_ARGUMENT, "", true, e.set_param(scorecam::Param::BatchSize, 2.5));
    EXPECT_ERROR(SCORECAM_E_INVALID_ARGUMENT, "", true, e.set_param(scorecam::Param::Upsample, static_cast<scorecam::Upsample>(7)));
    EXPECT_ERROR(SCORECAM_E_INVALID_ARGUMENT, "", true, e.set_param("norm_eps", -1));
    EXPECT_ERROR(SCORECAM_E_INVALID_ARGUMENT, "", true, e.set_param(scorecam::Param::Baseline, std::nan("")));
    EXPECT_ERROR(SCORECAM_E_INVALID_ARGUMENT, "", true, e.set_param(scorecam::Param::SelectionCount, 0));
    EXPECT_ERROR(SCORECAM_E_INVALID_ARGUMENT, "", true, e.set_param(static_cast<scorecam::Param>(999), 1));
    EXPECT_ERROR(SCORECAM_E_INVALID_ARGUMENT, "", true, e.get_param(static_cast<scorecam::Param>(999)));
    EXPECT_ERROR(SCORECAM_E_INVALID_ARGUMENT, "seed", true, e.set_preset("no-such-preset"));
    CHECK(e.get_param<int64_t>(scorecam::Param::BatchSize) == 2 &&
          e.get_param<scorecam::Upsample>(scorecam::Param::Upsample) == scorecam::Upsample::Bicubic &&
          e.get_param("norm_eps") == 1e-10);

    // Shapes: the wrapper checks vectors against their shapes, the engine the rest.
    EXPECT_ERROR(SCORECAM_E_SHAPE, "input", false,
                 e.compute(d.x, {1, C, H, W + 1}, d.acts, d.acts_shape, {4}));
    EXPECT_ERROR(SCORECAM_E_SHAPE, "activations", false,
                 e.compute(d.x, d.x_shape, d.acts, {1, K, AH + 1, AW}, {4}));
    EXPECT_ERROR(SCORECAM_E_SHAPE, "images", false,
                 e.compute(d.x, d.x_shape, d.acts, {2, K, AH, AW / 2}, {4}));
    EXPECT_ERROR(SCORECAM_E_SHAPE, "input", false, e.compute(d.x, {0, C, H, W}, d.acts, d.acts_shape, {4}));
    EXPECT_ERROR(SCORECAM_E_SHAPE, "input", false,
                 e.compute(d.x, {INT64_MAX / 2, C, H, W}, d.acts, d.acts_shape, {4}));
    {
        std::vector<float> maps(static_cast<size_t>(H * W) - 1, 5.0f);
        EXPECT_ERROR(SCORECAM_E_BUFFER_TOO_SMALL, "", true,
                     e.compute(maps.data(), maps.size(), d.x.data(), 1, C, H, W, d.acts.data(), K, AH, AW,
                               std::vector<int64_t>{4}.data(), 1));
        bool untouched = true;
        for (float v : maps) untouched = untouched && v == 5.0f;
        CHECK(untouched);
        EXPECT_ERROR(SCORECAM_E_NULL_POINTER, "", true,
                     e.compute(nullptr, 0, d.x.data(), 1, C, H, W, d.acts.data(), K, AH, AW,
                               std::vector<int64_t>{4}.data(), 1));
        EXPECT_ERROR(SCORECAM_E_SHAPE, "", true,
                     e.compute(maps.data(), maps.size(), d.x.data(), 1, C, H, W, d.acts.data(), -K, AH, AW,
                               std::vector<int64_t>{4}.data(), 1));
    }

    // Non-finite data, degenerate activations, a model that returns NaN.
    {
        Data bad = d;
        bad.x[17] = std::nanf("");
        EXPECT_ERROR(SCORECAM_E_NON_FINITE, "input", true,
                     e.compute(bad.x, bad.x_shape, bad.acts, bad.acts_shape, {4}));
        bad = d;
        for (size_t i = 0; i < bad.acts.size(); i++) bad.acts[i] = static_cast<float>(i / (AH * AW));
        EXPECT_ERROR(SCORECAM_E_DEGENERATE, "", true, e.compute(bad.x, bad.x_shape, bad.acts, bad.acts_shape, {4}));
        scorecam::Explainer nan_model;
        nan_model.set_forward(
            [](const float *, int64_t n, int64_t, int64_t, int64_t, float *out, int64_t dim) {
                for (int64_t i = 0; i < n * dim; i++) out[i] = std::nanf("");
            },
            D);
        EXPECT_ERROR(SCORECAM_E_NON_FINITE, "forward", true,
                     nan_model.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4}));
    }

    // Unsetting the forward callback.
    e.set_forward(nullptr);
    EXPECT_ERROR(SCORECAM_E_NO_FORWARD, "", true, e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4}));
    e.set_forward(scorecam::ForwardFn(), D);
    EXPECT_ERROR(SCORECAM_E_NO_FORWARD, "", true, e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4}));

    // After all that, the handle still works and its message is cleared by success.
    e.set_forward(std::ref(model), D);
    CHECK(same_bits(e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4}), ref));
    CHECK(e.last_error().empty());
}

static void test_no_leaks_on_exceptions(LinearModel &model, const Data &d, const std::vector<float> &ref) {
    // Many failing runs from every callback, each exception holding heap memory; LeakSanitizer
    // checks at exit, the live counter right here.
    scorecam::Explainer e = make_explainer(model);
    auto token = std::make_shared<int>(0);
    int thrown = 0, caught = 0;
    for (int i = 0; i < 60; i++) {
        const int which = i % 4;
        e.set_forward(
             [&, token, which](const float *images, int64_t n, int64_t c, int64_t h, int64_t w, float *out,
                               int64_t dim) {
                 if (which == 0) {
                     thrown++;
                     throw Tracked("forward " + std::string(200, 'x'));
                 }
                 model(images, n, c, h, w, out, dim);
             },
             D);
        e.set_scoring(which != 1 ? scorecam::ScoringFn() : [&, token](const float *, int64_t, int64_t, const int64_t *, size_t, float *) {
            thrown++;
            throw std::runtime_error("scoring " + std::string(300, 'y'));
        });
        e.set_progress(which != 2 ? scorecam::ProgressFn() : [&, token](size_t, size_t) -> bool {
            thrown++;
            throw std::vector<double>(100, 1.0);
        });
        if (which == 3) e.set_progress([token](size_t, size_t) { return false; });
        try {
            (void)e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4});
        } catch (const Tracked &) {
            caught++;
        } catch (const scorecam::Error &err) {
            caught += err.status() == SCORECAM_E_CANCELLED ? 1 : 0;
        } catch (const std::runtime_error &) {
            caught++;
        } catch (const std::vector<double> &v) {
            caught += v.size() == 100 ? 1 : 0;
        }
    }
    CHECK(caught == 60 && thrown == 45);
    CHECK(Tracked::live == 0);
    e.set_forward(std::ref(model), D).set_scoring(nullptr).set_progress(nullptr);
    CHECK(token.use_count() == 1); // every replaced callback was released
    CHECK(same_bits(e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4}), ref));

    // Destroying an explainer right after a callback threw releases everything too.
    {
        scorecam::Explainer f;
        f.set_forward([token](const float *, int64_t, int64_t, int64_t, int64_t, float *, int64_t) {
            throw Tracked("bye");
        }, D);
        try {
            (void)f.compute(d.x, d.x_shape, d.acts, d.acts_shape, {4});
        } catch (const Tracked &) {
        }
    }
    CHECK(token.use_count() == 1 && Tracked::live == 0);
}

// Presets by name, the torchcam map size, SS-CAM / IS-CAM, and the metrics through the wrapper.
static void test_presets_methods_metrics(LinearModel &model, const Data &d) {
    scorecam::Explainer e = make_explainer(model);
    for (const char *name : {"gradcam", "paper", "seed"}) {
        e.set_preset(name);
        const std::vector<float> maps = e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {1, 3});
        CHECK(maps.size() == static_cast<size_t>(d.x_shape.n * 2 * H * W));
    }
    e.set_preset("torchcam");
    const std::pair<int64_t, int64_t> size = e.map_size(H, W, AH, AW);
    CHECK(size.first == AH && size.second == AW);
    const std::vector<float> low = e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {2});
    CHECK(low.size() == static_cast<size_t>(d.x_shape.n * AH * AW));
    float top = 0;
    for (float v : low) top = std::max(top, v);
    CHECK(top > 0.99f && top <= 1.0f); // torchcam maps are normalized

    e.set_param(scorecam::Param::Method, scorecam::Method::ISCAM).set_param("samples", 3);
    size_t passes = 0;
    e.set_progress([&](size_t done, size_t) { passes = done; return true; });
    (void)e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {2});
    CHECK(passes == static_cast<size_t>(d.x_shape.n * K * 3));
    e.set_param(scorecam::Param::Method, scorecam::Method::SSCAM).set_param(scorecam::Param::Seed, 3);
    const std::vector<float> noisy = e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {2});
    CHECK(same_bits(noisy, e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {2})));
    e.set_progress({});

    e.set_preset("seed");
    e.set_param(scorecam::Param::NormalizeMap, true);
    const std::vector<float> maps = e.compute(d.x, d.x_shape, d.acts, d.acts_shape, {1, 3});
    const std::vector<double> drop =
        e.evaluate(scorecam::Metric::AverageDrop, d.x, d.x_shape, maps, H, W, {1, 3});
    CHECK(drop.size() == static_cast<size_t>(d.x_shape.n * 2));
    for (double v : drop) CHECK(v >= 0 && v <= 1);
    const std::vector<double> insertion =
        e.evaluate(scorecam::Metric::Insertion, d.x, d.x_shape, maps, H, W, {1, 3});
    for (double v : insertion) CHECK(v > 0 && v < 1);
    bool threw = false;
    try {
        (void)e.evaluate(scorecam::Metric::Deletion, d.x, d.x_shape, maps, H, W, {1, D});
    } catch (const scorecam::Error &error) {
        threw = error.code() == scorecam::Status::InvalidArgument &&
                std::string(error.what()).find("outside the model") != std::string::npos;
    }
    CHECK(threw);
}

// Masks mode: the host multiplies; same maps as the forward path; a throw comes back out.
static void test_masks_mode(LinearModel &model, const Data &d, const std::vector<float> &ref) {
    const std::vector<int64_t> targets = {2};
    std::vector<float> masked(static_cast<size_t>(C * H * W));
    scorecam::Explainer e;
    e.set_param(scorecam::Param::BatchSize, 2).set_masks_forward(
        [&](const float *masks, const int64_t *images, int64_t n, const float *input, int64_t, int64_t c, int64_t h,
            int64_t w, float *outputs, int64_t output_dim) {
            for (int64_t i = 0; i < n; i++) {
                for (int64_t j = 0; j < c * h * w; j++)
                    masked[static_cast<size_t>(j)] = input[images[i] * c * h * w + j] * masks[i * h * w + j % (h * w)];
                model(masked.data(), 1, c, h, w, outputs + i * output_dim, output_dim);
            }
        },
        D);
    const std::vector<float> maps = e.compute(d.x, d.x_shape, d.acts, d.acts_shape, targets);
    float worst = 0, scale = 0;
    for (size_t i = 0; i < ref.size(); i++) {
        worst = std::max(worst, std::fabs(maps[i] - ref[i]));
        scale = std::max(scale, std::fabs(ref[i]));
    }
    CHECK(maps.size() == ref.size() && worst <= 1e-5f * scale);
    e.set_masks_forward([](const float *, const int64_t *, int64_t, const float *, int64_t, int64_t, int64_t, int64_t,
                           float *, int64_t) { throw DeviceLost("masks"); },
                        D);
    bool caught = false;
    try {
        e.compute(d.x, d.x_shape, d.acts, d.acts_shape, targets);
    } catch (const DeviceLost &) {
        caught = true;
    }
    CHECK(caught);
    e.set_masks_forward(nullptr, 0);
}

int main() {
    LinearModel model(11);
    const Data d = make_data(1, 3);
    const std::vector<float> ref = reference_maps(model, d, {4});

    test_version();
    test_raii(model, d, ref);
    test_moves(model, d, ref);
    test_forward_throws(model, d, ref);
    test_scoring(model, d, ref);
    test_progress(model, d, ref);
    test_multi_target(model);
    test_per_image(model);
    test_details(model, d);
    test_channels(model, d);
    test_param_table();
    test_params();
    test_deprecated_accessors();
    test_empty_and_release(model, d, ref);
    test_errors(model, d, ref);
    test_no_leaks_on_exceptions(model, d, ref);
    test_presets_methods_metrics(model, d);
    test_masks_mode(model, d, reference_maps(model, d, {2}));

    std::printf("test_cpp: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}
