#!/usr/bin/env python3
"""Writes the committed fuzz inputs: a seed corpus (valid programs over every call) and one
regression input per finding of issues 10 and 20, in the byte format fuzz_abi.c reads, and the
libFuzzer dictionary fuzz_abi.dict (opcodes, set_channels modes and huge counts).

    python3 Tests/fuzz/make_inputs.py        (rewrites Tests/fuzz/corpus, Tests/fuzz/regressions, fuzz_abi.dict)

Format: a sequence of operations, each an opcode byte (value % 8; 8 and 0xF8-0xFF: set_channels;
9 and 10: compute and evaluate per image) and its arguments:
  0 params    what(%4: set, get, preset, info) param(P + 1) value(byte, see VALUE) [preset name | info index]
  1 callbacks which(%3: forward, scoring, progress cap) kind [output_dim index, fail_at]
  2/3 compute  b c h w k ah aw (DIM bytes) num_targets capacity (COUNT bytes) flags metric, then data:
               input floats, activation floats, 64 target bytes
  4 evaluate   as compute, then map_h map_w; data: input floats, 64 target bytes, map floats
  5 masks      c h w k ah aw num_channels capacity flags, 16 channel bytes, input and activation floats
  6 details    image index, capacity
  7 map size   h w ah aw
  8 channels   mode (low nibble %3: count byte, 8-byte little-endian count, huge index; +0x10: channels NULL),
               the count, then one byte per entry of a list up to 4096 (see channel_value())
  9/10        compute_per_image / evaluate_per_image, as 2 and 4: image i's targets are target bytes
               i x num_targets on (the harness passes NULL where b x num_targets passes 64)
"""
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent

# Dimension bytes: 0..8 as themselves, specials from 0xF0 (see dim() in fuzz_abi.c).
DIM = {-1: 0xF0, -5: 0xF1, 2**20: 0xF2, 2**24: 0xF3, 2**31: 0xF4, 2**32: 0xF5, 2**62: 0xF6,
       2**63 - 1: 0xF7, -2**63: 0xF8, 65536: 0xF9, 100000: 0xFA, 4096: 0xFB, 16: 0xFC, 32: 0xFD, 64: 0xFE}
# Count bytes: EXACT (what the call needs), 0..8, or specials.
EXACT = 0x00
COUNT_SPECIAL = {"SIZE_MAX": 0xF0, "2^63": 0xF1, "2^62": 0xF2, "2^40": 0xF3, "2^20": 0xF4}
# Parameter values: 0..47 as themselves, specials from 0xC0, 0xFF + 8 bytes for any double.
VALUE = {"nan": 0xC0, "inf": 0xC1, "1e19": 0xC3, "-1e300": 0xC4, "1e39": 0xC5, "-1e39": 0xC6,
         "3e38": 0xC7, "-1": 0xCA, "2^53": 0xCB, "1e-10": 0xCD, "2^30": 0xCE, "2^20": 0xD0,
         "1e-300": 0xD5, "1e30": 0xDB, "1e-30": 0xDC, "2^26": 0xD3}
# Data bytes: v / 240 for v < 0xF0, specials from 0xF0.
NAN, INF, BIG, NEG_BIG, ZERO = 0xF0, 0xF1, 0xF3, 0xF4, 0xF5

PARAM = dict(BATCH_SIZE=1, UPSAMPLE=2, SELECTION=3, SELECTION_COUNT=4, SKIP_CONSTANT=5, NORM_EPS=6,
             WEIGHTING=7, SUBTRACT_BASE=8, SCORE=9, BASELINE=10, NORMALIZE_MAP=11, THREADS=12,
             MAP_AT_ACTIVATION_SIZE=16, METHOD=19, SAMPLES=20, NOISE_STD=21, SEED=22, ADAPTIVE_TOLERANCE=23,
             ADAPTIVE_STEP=24, METRIC_SCORE=25, METRIC_STEPS=26, METRIC_BASELINE=27, BATCH_MEMORY=28)
FORWARD = dict(linear=0, fail=1, nan=2, nothing=3, huge=4, reentrant=5, inf=6)
SCORING = dict(none=0, mean=1, fail=2, nothing=3, huge=4)
OUTPUT_DIM = {1: 0, 2: 1, 3: 2, 4: 3, 5: 4, 10: 5, 0: 6, -1: 7, 2**62: 8, 2**40: 9, 1000: 10, 7: 11}
PRESET = dict(seed=0, gradcam=1, torchcam=2, paper=3)


def dim(v):
    return bytes([v if 0 <= v <= 8 else DIM[v]])


def value(v):
    if isinstance(v, str):
        return bytes([VALUE[v]])
    if isinstance(v, int) and 0 <= v < 48:
        return bytes([v])
    return bytes([0xFF]) + struct.pack("<d", float(v))


def set_param(name, v):
    return bytes([0, 0, PARAM[name] + 1]) + value(v)


def get_param(name):
    return bytes([0, 1, PARAM[name] + 1, 0])


def preset(name):
    return bytes([0, 2, 0, 0, PRESET[name]])


def info(index_byte):
    return bytes([0, 3, 0, 0, index_byte])


def forward(kind, output_dim=4, fail_at=1):
    return bytes([1, 0, FORWARD[kind], OUTPUT_DIM[output_dim], fail_at - 1])


def scoring(kind):
    return bytes([1, 1, SCORING[kind]])


def floats(data):
    return bytes(data)


def pattern(count, seed=1):
    """count data bytes of a varied, finite pattern."""
    return bytes(((i * 37 + seed * 11) % 229) for i in range(count))


def compute(b=1, c=2, h=4, w=4, k=3, ah=2, aw=2, targets=EXACT, capacity=EXACT, flags=0x00,
            input_data=None, act_data=None, target_bytes=None, opcode=2):
    head = bytes([opcode]) + b"".join(dim(v) for v in (b, c, h, w, k, ah, aw)) + bytes([targets, capacity, flags, 1])
    n_in = max(b, 0) * max(c, 0) * max(h, 0) * max(w, 0) if max(b, c, h, w) <= 64 else 0
    n_act = max(b, 0) * max(k, 0) * max(ah, 0) * max(aw, 0) if max(b, k, ah, aw) <= 64 else 0
    data = (input_data if input_data is not None else pattern(n_in)) + \
           (act_data if act_data is not None else pattern(n_act, 2))
    return head + data + (target_bytes or bytes([1] * 64))


def evaluate(metric, b=1, c=2, h=4, w=4, map_h=2, map_w=2, targets=EXACT, capacity=EXACT, flags=0x00, opcode=4):
    head = bytes([opcode]) + b"".join(dim(v) for v in (b, c, h, w, 1, 1, 1)) + bytes([targets, capacity, flags, metric + 1])
    head += dim(map_h) + dim(map_w)
    n_in = b * c * h * w
    n_maps = b * (1 + (flags >> 4) % 3) * map_h * map_w
    return head + pattern(n_in) + bytes([1] * 64) + pattern(n_maps, 3)


def masks(c=2, h=4, w=4, k=3, ah=2, aw=2, channels=0x80, capacity=EXACT, flags=0x01, input_data=None):
    head = bytes([5]) + b"".join(dim(v) for v in (c, h, w, k, ah, aw)) + bytes([channels, capacity, flags])
    n_in = c * h * w if max(c, h, w) <= 64 and min(c, h, w) > 0 else 0
    body = bytes([1, 2, 3, 4] * 4)
    return head + body + (input_data if input_data is not None else pattern(n_in)) + pattern(k * ah * aw, 2)


def details(image_byte=0, capacity=EXACT):
    return bytes([6, image_byte, capacity])


def map_size(h=4, w=4, ah=2, aw=2):
    return bytes([7]) + dim(h) + dim(w) + dim(ah) + dim(aw)


# set_channels: huge counts by index (op_channels() in fuzz_abi.c), and the NULL-list flag.
# Channel entry bytes: 0..11 as themselves, specials from 0xF0, INDEX: the entry's index (distinct).
ENTRY = {"-1": 0xF0, "INT64_MIN": 0xF1, "INT64_MAX": 0xF2, "2^40": 0xF3, "INDEX": 0xFF}
HUGE_COUNT = {2**34: 0, 2**60: 1, 2**63: 2, 2**64 - 1: 3, 2**63 - 1: 4, 2**59: 5, 2**63 + 1: 6, 2**64 - 2: 7}
NULL_LIST = 0x10


def channels(entries):
    """set_channels with a real list of up to 16 entries (each 0..11 here)."""
    assert len(entries) <= 16 and all(0 <= v < 12 for v in entries)
    return bytes([8, 0, len(entries)] + list(entries))


def channels_count(count, null=False, entries=b""):
    """set_channels with an 8-byte count; a real list (entries, then distinct values) unless null."""
    return bytes([8, 1 | (NULL_LIST if null else 0)]) + struct.pack("<Q", count) + entries


def channels_huge(count, null=False):
    return bytes([8, 2 | (NULL_LIST if null else 0), HUGE_COUNT[count]])


def clear_channels():
    return bytes([8, NULL_LIST, 0])


SEEDS = {
    "compute": compute() + details() + map_size(),
    "compute-two-images-three-targets": compute(b=2, flags=0x20) + details(1),
    "per-image-targets": compute(b=3, flags=0x10, opcode=9, target_bytes=bytes(range(64))) + details(2)
                         + evaluate(2, b=3, flags=0x10, opcode=10) + compute(b=3, flags=0x12, opcode=9)
                         + scoring("mean") + compute(b=2, flags=0x20, opcode=9),
    "presets": b"".join(preset(p) + compute() for p in PRESET),
    "cskip-raw-weights": set_param("SELECTION", 1) + set_param("SELECTION_COUNT", 2) + set_param("WEIGHTING", 1)
                         + compute(k=5),
    "sscam": set_param("METHOD", 1) + set_param("SAMPLES", 3) + compute(),
    "iscam-baseline": set_param("METHOD", 2) + set_param("BASELINE", 0.25) + compute(),
    "adaptive": set_param("ADAPTIVE_TOLERANCE", 0.5) + set_param("ADAPTIVE_STEP", 1) + compute(k=6),
    "scoring": scoring("mean") + compute(flags=0x22),
    "evaluate": b"".join(evaluate(m) for m in range(4)),
    "masks": masks() + masks(flags=0x00),
    "reentrant-forward": forward("reentrant") + compute(),
    "params-and-info": get_param("BATCH_SIZE") + info(0) + info(0x85) + set_param("BATCH_MEMORY", "2^20"),
    "explicit-channels": channels([2, 0]) + compute() + details() + channels([1, 1]) + channels([5])
                         + compute() + clear_channels() + compute() + bytes([8, 0, 0]),
}

REGRESSIONS = {
    # F1: integral values beyond +-2^63 trapped while the error message was built.
    "f1-integer-parameter-beyond-int64": set_param("BATCH_SIZE", "1e19") + set_param("UPSAMPLE", "-1e300")
                                         + set_param("SEED", "1e19") + compute(),
    # F2: no channels skipped every size check; h = 2^62 with an input read past the caller's input.
    "f2-masks-no-channels-huge-height": masks(c=1, h=2**62, w=1, channels=0x87, flags=0x01)
                                        + masks(c=1, h=2**32, w=2**31, channels=0x87, flags=0x00),
    # F3: num_channels >= 2^63 became a negative count.
    "f3-masks-channel-count-size-max": masks(channels=COUNT_SPECIAL["SIZE_MAX"])
                                       + masks(channels=COUNT_SPECIAL["2^63"], flags=0x00),
    # F4: output_dim = 2^62: batch x D overflowed.
    "f4-output-dim-2-62": forward("linear", output_dim=2**62) + compute()
                          + forward("linear", output_dim=2**40) + compute(),
    # F5: resampler scratch of activation height x input width.
    "f5-resampler-scratch": compute(b=1, c=1, h=1, w=65536, k=1, ah=65536, aw=1),
    # F6: a huge batch size: the batch buffers are bounded by BATCH_MEMORY.
    "f6-batch-memory": set_param("BATCH_SIZE", "2^30") + compute(c=3, h=16, w=16, k=4096, ah=1, aw=2, act_data=pattern(8192, 2))
                       + set_param("BATCH_MEMORY", 1) + compute(c=3, h=16, w=16, k=8),
    # F7: float32 parameters beyond float32, extreme activations, RAW weights of huge scores.
    "f7-extreme-values": set_param("BASELINE", "1e39") + set_param("NOISE_STD", "1e39") + get_param("BASELINE")
                         + compute(act_data=bytes([NEG_BIG, BIG] + [5] * 10))
                         + set_param("WEIGHTING", 1) + set_param("SUBTRACT_BASE", 0) + scoring("huge")
                         + compute(flags=0x02),
    # F8: callbacks that write nothing.
    "f8-callbacks-write-nothing": forward("nothing") + compute() + forward("linear") + scoring("nothing")
                                  + compute(flags=0x02),
    # F9: size_t arguments above INT64_MAX.
    "f9-size-t-above-int64": compute(capacity=COUNT_SPECIAL["SIZE_MAX"]) + details(0, COUNT_SPECIAL["SIZE_MAX"])
                             + compute(targets=COUNT_SPECIAL["SIZE_MAX"]) + info(COUNT_SPECIAL["SIZE_MAX"]),
    # Core validation: ADAPTIVE_STEP = 0 and METRIC_STEPS = 0 are refused wherever they come from.
    "core-zero-steps": set_param("ADAPTIVE_TOLERANCE", 0.5) + set_param("ADAPTIVE_STEP", 0) + compute()
                       + set_param("METRIC_STEPS", 0) + evaluate(2),
    # Found while fuzzing: a tiny NORM_EPS on a constant channel made 1 / eps overflow float32 (NaN masks).
    "tiny-eps-constant-channel": set_param("NORM_EPS", "1e-300")
                                 + compute(act_data=bytes([9, 9, 9, 9] + list(range(10, 18)))),
    # Issue 20 (A1, A2): set_channels with a count above INT64_MAX or beyond the machine's memory
    # aborted; now INVALID_ARGUMENT / OUT_OF_MEMORY before an entry is read, the list kept.
    "a1-a2-set-channels-huge-counts": channels([2, 0]) + compute()
                                      + b"".join(channels_huge(n) + channels_huge(n, null=True) for n in HUGE_COUNT)
                                      + channels_count(2**64 - 1) + channels_count(2**34) + compute() + details(),
    # A long list: 4096 distinct channels copied, then refused at compute (entries >= k).
    # and lists refused for a negative, a huge or a repeated entry, the long list kept.
    "set-channels-4096": channels_count(4096, entries=bytes([ENTRY["INDEX"]] * 4096)) + compute()
                         + channels_count(2, entries=bytes([0, ENTRY["-1"]]))
                         + channels_count(2, entries=bytes([ENTRY["INT64_MIN"], 0]))
                         + channels_count(3, entries=bytes([ENTRY["2^40"], ENTRY["INT64_MAX"], ENTRY["2^40"]]))
                         + channels_count(3, entries=bytes([0, 1, ENTRY["INDEX"]])) + compute() + details(),
}


def dictionary():
    """libFuzzer's -dict: the opcodes, set_channels' modes, and the huge counts little-endian."""
    def quoted(data):
        return "".join(f"\\x{b:02x}" for b in data)
    lines = [f'opcode_{op}="{quoted(bytes([op]))}"' for op in range(11)]
    lines += [f'channels_mode_{mode}="{quoted(bytes([8, mode]))}"' for mode in (0, 1, 2, 0x10, 0x11, 0x12)]
    for count in sorted(HUGE_COUNT):
        lines.append(f'count_{count:x}="{quoted(struct.pack("<Q", count))}"')
        lines.append(f'channels_count_{count:x}="{quoted(bytes([8, 1]) + struct.pack("<Q", count))}"')
    return "# libFuzzer dictionary for fuzz_abi.c, written by make_inputs.py.\n" + "\n".join(lines) + "\n"


def main():
    (HERE / "fuzz_abi.dict").write_text(dictionary())
    for folder, inputs in (("corpus", SEEDS), ("regressions", REGRESSIONS)):
        path = HERE / folder
        path.mkdir(exist_ok=True)
        for old in path.iterdir():
            old.unlink()
        for name, data in inputs.items():
            (path / name).write_bytes(data)
        print(f"{folder}: {len(inputs)} inputs")


if __name__ == "__main__":
    main()
