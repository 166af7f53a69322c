"""The fixed "world" behind generated samples: vocabularies and how each group uses them.

Brands, models, label categories and their group effects are drawn once from a constant seed,
so every generated sample (any size, any seed) comes from the same population and different
seeds behave like different draws of users. Apps are per sample (their number grows with the
sample) and are drawn in ``_generate``.

Group effects are small log-odds shifts, ``effect[item, g] = u_item . phi(g)``, where ``phi``
describes a group by gender, age and their interaction; that keeps the signal smooth across
neighbouring age groups, as in the real data, and weak (see ``_generate`` for the calibration).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
StrArray = npt.NDArray[np.object_]

GROUPS: tuple[str, ...] = (
    "F23-",
    "F24-26",
    "F27-28",
    "F29-32",
    "F33-42",
    "F43+",
    "M22-",
    "M23-26",
    "M27-28",
    "M29-31",
    "M32-38",
    "M39+",
)
"""The twelve ``group`` classes, sorted as scikit-learn's ``LabelEncoder`` sorts them."""

# Class sizes of the real gender_age_train.csv (74,645 devices): log-loss of the prior 2.428.
_GROUP_COUNTS = (5050, 4190, 3118, 4620, 5561, 4194, 7488, 9605, 5445, 7309, 9476, 8581)
GROUP_SHARES: FloatArray = np.asarray(_GROUP_COUNTS, dtype=np.float64) / sum(_GROUP_COUNTS)

# Inclusive age range of each group; the open-ended ones are drawn with a decaying tail.
AGE_RANGES: tuple[tuple[int, int], ...] = (
    (12, 23),
    (24, 26),
    (27, 28),
    (29, 32),
    (33, 42),
    (43, 88),
    (12, 22),
    (23, 26),
    (27, 28),
    (29, 31),
    (32, 38),
    (39, 88),
)
_AGE_MIDS = np.array([21, 25, 27.5, 30.5, 37.5, 50, 20, 24.5, 27.5, 30, 35, 47], dtype=np.float64)
_MALE = np.array([-1.0] * 6 + [1.0] * 6)
_Z = (_AGE_MIDS - 31.0) / 9.0
# phi(g): gender, age, gender x age, curvature (centred so it does not shift every item alike).
PHI: FloatArray = np.stack([_MALE, _Z, _MALE * _Z, _Z**2 - np.mean(_Z**2)], axis=1)

_WORLD_SEED = 20160711  # the Kaggle competition's launch date; any constant works

# Real top brands with their approximate share of devices; the long tail is synthetic.
_TOP_BRANDS: tuple[tuple[str, float], ...] = (
    ("小米", 0.230),
    ("三星", 0.183),
    ("华为", 0.174),
    ("vivo", 0.077),
    ("OPPO", 0.076),
    ("魅族", 0.064),
    ("酷派", 0.045),
    ("联想", 0.036),
    ("金立", 0.015),
    ("HTC", 0.013),
    ("中兴", 0.011),
    ("乐视", 0.011),
    ("索尼", 0.009),
    ("努比亚", 0.007),
    ("LG", 0.005),
    ("中国移动", 0.004),
    ("TCL", 0.004),
    ("朵唯", 0.004),
    ("优米", 0.003),
    ("天语", 0.003),
    ("酷比", 0.003),
    ("一加", 0.003),
    ("海信", 0.003),
    ("锤子", 0.003),
    ("华硕", 0.002),
    ("摩托罗拉", 0.002),
    ("诺基亚", 0.002),
    ("奇酷", 0.002),
    ("美图", 0.002),
    ("聯想", 0.002),
)
_N_BRANDS = 131  # as in the real phone_brand_device_model.csv
_BRAND_CHARS = "天宇星华米酷欧诺康佳海美优朵维晨凯伟博迪尔斯达飞鸿乐睿智云"
_LATIN_SYLLABLES = ("Ko", "bee", "Zo", "po", "Vi", "va", "Lo", "me", "Ne", "wa", "Ki", "ra", "Su")
_MODEL_PREFIXES: dict[str, tuple[str, ...]] = {
    "小米": ("MI ", "红米", "MI NOTE ", "MI PAD "),
    "三星": ("Galaxy S", "Galaxy Note ", "Galaxy A", "Galaxy J", "Galaxy Grand ", "SCH-I"),
    "华为": ("荣耀", "Mate ", "P", "G", "C", "畅享"),
    "vivo": ("X", "Y", "Xplay"),
    "OPPO": ("R", "A", "N", "Find "),
    "魅族": ("MX", "魅蓝", "PRO "),
    "酷派": ("大神", "锋尚", "8"),
}
# Short generic prefixes make the same model name appear under several brands, as in the real
# data, where the sample code one-hot encodes the model name alone.
_GENERIC_PREFIXES = ("A", "S", "V", "X", "T", "Y", "N", "M", "K", "F", "U", "Z")
_MODEL_SUFFIXES = ("", "", "", "S", " Plus", "C", "T", "+", " Mini", "L", "Pro")

# App-label themes: category phrases in the style of the real label_categories.csv (which
# include "game-" prefixes, parentheses, slashes and underscores that the sample code cleans).
THEMES: tuple[str, ...] = ("generic", "game", "finance", "female", "young", "business")
_THEME_PHRASES: dict[str, tuple[str, ...]] = {
    "generic": (
        "Industry tag",
        "Custom label",
        "Tencent",
        "unknown",
        "Services 1",
        "Relatives 1",
        "Irritation / Fun 1",
        "Smart Shopping",
        "online shopping by group, like groupon",
        "Tools",
        "Utilities",
        "Browser",
        "Input method",
        "Weather",
        "Calendar",
        "Phone management",
        "Security",
        "Wifi",
        "IM_chat",
        "Online_malls",
        "Property Industry 2.0",
        "Property Industry new",
        "Third party payment",
        "Search",
    ),
    "game": (
        "Games",
        "game-Art Style",
        "game-Cutting things",
        "game-Finding fault",
        "game-stress reliever",
        "game-pet",
        "game-Rowing",
        "game-Fishing",
        "game-Racing",
        "game-Puzzle",
        "game-Chess",
        "game-Card",
        "game-Shooting",
        "game-Music and Dance",
        "game-Tower Defense",
        "Cards RPG",
        "Casual puzzle categories",
        "Parkour avoid class",
        "Chinese Classical Mythology",
        "Fighting (Action)",
        "MMORPG",
        "Sports Games",
        "Role playing",
        "Simulation/Business",
        "Online games",
        "Plants Vs Zombies",
    ),
    "finance": (
        "Finance",
        "Financial Information",
        "Stock",
        "Securities",
        "Lottery ticket",
        "Insurance",
        "P2P",
        "Bank",
        "Pay",
        "Internet Banking",
        "Debit and credit",
        "Wealth Management",
        "Fund",
        "Futures",
        "Precious Metals",
        "Foreign exchange",
        "Low risk",
        "High risk",
        "Liquid medium",
        "Credit card (Bank)",
    ),
    "female": (
        "Beauty",
        "Beauty Nail",
        "Women's clothing",
        "Maternal and child population",
        "Pregnancy",
        "Parenting",
        "Makeup application",
        "Fashion outfit",
        "Housekeeping",
        "Cooking recipes",
        "Weight loss/Fitness",
        "Health Management",
        "Baby care",
        "Photography",
        "Selfie",
        "Astrology (Horoscope)",
    ),
    "young": (
        "Music",
        "Video",
        "Animation Comics",
        "Reading platform",
        "Novels",
        "Social network",
        "Dating",
        "Campus",
        "Education",
        "Exam",
        "Live video streaming",
        "Video player",
        "Ringtones",
        "Emoticons",
        "Skins/Themes",
        "Hot Video",
        "Sports (Soccer)",
    ),
    "business": (
        "Business Office",
        "Personal Effectiveness 1",
        "Email",
        "Cloud storage",
        "Real Estate",
        "Car Owners",
        "Automotive News",
        "Travel",
        "Hotel",
        "Airlines",
        "Map Navigation",
        "Business travel",
        "News",
        "Stock news",
        "Property Industry 1.0",
        "Travel (Overseas)",
        "Religious_Knowledge",
        "And the Church",
    ),
}
# How each theme shifts app use by group, in phi's coordinates (gender, age, gender x age, age^2).
_THEME_U = np.array(
    [
        [0.0, 0.0, 0.0, 0.0],  # generic
        [0.9, -0.8, -0.2, 0.1],  # game: young men
        [0.4, 0.6, 0.2, -0.1],  # finance: older, more men
        [-1.1, 0.2, 0.0, 0.0],  # female: women
        [-0.1, -1.0, 0.0, 0.3],  # young
        [0.3, 0.7, 0.1, -0.2],  # business: older
    ],
    dtype=np.float64,
)
_N_LABELS = 930  # rows of the real label_categories.csv (ids 1..1021 with gaps)
_MAX_LABEL_ID = 1021


@dataclass(frozen=True)
class World:
    """Vocabularies and group effects shared by every generated sample (read-only arrays)."""

    brand_names: StrArray
    brand_weight: FloatArray  # base popularity, sums to 1
    brand_effect: FloatArray  # (n_brands, 12) log-odds shifts
    model_names: StrArray
    model_brand: IntArray  # models are sorted by brand; index into brand_names
    model_weight: FloatArray  # base popularity within the brand
    model_effect: FloatArray  # (n_models, 12)
    brand_model_start: IntArray  # models of brand b are [start[b], start[b + 1])
    label_ids: IntArray
    label_category: StrArray  # raw category text, before the sample code's cleaning
    label_theme: IntArray  # index into THEMES
    label_used: npt.NDArray[np.bool_]  # False: listed in label_categories.csv only
    label_weight: FloatArray  # popularity of a label within its theme
    theme_u: FloatArray  # (n_themes, 4)
    hour_base: FloatArray  # (24,) share of sessions per hour of day
    hour_effect: FloatArray  # (24, 12)
    day_effect: FloatArray  # (7, 12) per day of the week starting on Sunday 2016-05-01


def _zipf(n: int, exponent: float, offset: float = 1.0) -> FloatArray:
    weights = 1.0 / (np.arange(n, dtype=np.float64) + offset) ** exponent
    normed: FloatArray = weights / weights.sum()
    return normed


def _effects(rng: np.random.Generator, n: int, scale: float) -> FloatArray:
    """``(n, 12)`` effects ``u . phi(g)`` plus a little group-specific noise."""
    u = rng.normal(size=(n, PHI.shape[1])) * np.array([1.0, 1.0, 0.5, 0.5])
    effects: FloatArray = scale * (u @ PHI.T + 0.3 * rng.normal(size=(n, len(GROUPS))))
    return effects


def _unique_names(
    rng: np.random.Generator, count: int, make: Callable[[np.random.Generator], str]
) -> list[str]:
    # Vocabulary-sized loop (a few hundred names), run once per process.
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        name = make(rng)
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def _brands(rng: np.random.Generator) -> tuple[list[str], FloatArray]:
    top = [name for name, _ in _TOP_BRANDS]
    taken = set(top)

    def cjk(r: np.random.Generator) -> str:
        k = int(r.integers(2, 4))
        return "".join(r.choice(list(_BRAND_CHARS), size=k))

    def latin(r: np.random.Generator) -> str:
        k = int(r.integers(2, 4))
        return "".join(r.choice(_LATIN_SYLLABLES, size=k)).capitalize()

    n_tail = _N_BRANDS - len(top)
    tail = [
        n
        for n in _unique_names(rng, n_tail + 40, lambda r: cjk(r) if r.random() < 0.6 else latin(r))
        if n not in taken
    ][:n_tail]
    # The tail shares what the top brands leave, decaying from ~0.2% to ~0.001%.
    top_share = np.array([s for _, s in _TOP_BRANDS])
    tail_share = _zipf(n_tail, 1.5, offset=4.0) * 0.02  # the real tail holds ~2% of devices
    weight = np.concatenate([top_share, tail_share])
    return top + tail, weight / weight.sum()


def _models(
    rng: np.random.Generator, brands: list[str], brand_weight: FloatArray
) -> tuple[list[str], list[int], FloatArray]:
    names: list[str] = []
    owner: list[int] = []
    weights: list[FloatArray] = []
    for b, brand in enumerate(brands):
        count = max(1, round(400 * brand_weight[b] ** 0.6))
        prefixes = _MODEL_PREFIXES.get(brand, _GENERIC_PREFIXES)

        def make(r: np.random.Generator, prefixes: tuple[str, ...] = prefixes) -> str:
            prefix = str(r.choice(prefixes))
            return f"{prefix}{int(r.integers(1, 40))}{r.choice(_MODEL_SUFFIXES)}"

        names += _unique_names(rng, count, make)
        owner += [b] * count
        weights.append(_zipf(count, 1.1)[rng.permutation(count)])
    return names, owner, np.concatenate(weights)


def _labels(rng: np.random.Generator) -> tuple[IntArray, list[str], IntArray, FloatArray]:
    ids = np.sort(rng.choice(np.arange(1, _MAX_LABEL_ID + 1), size=_N_LABELS, replace=False))
    categories: list[str] = []
    themes: list[int] = []
    theme_share = np.array([0.25, 0.30, 0.12, 0.11, 0.12, 0.10])
    # The first labels are the generic ones every app store uses ("Industry tag" ...).
    for phrase in _THEME_PHRASES["generic"][:4]:
        categories.append(phrase)
        themes.append(0)
    while len(categories) < _N_LABELS:  # 930 iterations, once per process
        t = int(rng.choice(len(THEMES), p=theme_share))
        phrase = str(rng.choice(_THEME_PHRASES[THEMES[t]]))
        roll = rng.random()
        # Numbered variants ("Relatives 2") and plain repeats: several label ids share a text.
        if roll < 0.35:
            phrase = f"{phrase} {int(rng.integers(1, 6))}"
        categories.append(phrase)
        themes.append(t)
    theme_arr = np.asarray(themes, dtype=np.int64)
    weight = np.empty(_N_LABELS)
    for t in range(len(THEMES)):
        members = np.flatnonzero(theme_arr == t)
        weight[members] = _zipf(members.size, 1.0, offset=2.0)[rng.permutation(members.size)]
    return ids, categories, theme_arr, weight


@functools.cache
def world() -> World:
    """The shared world (built once per process, deterministic)."""
    rng = np.random.default_rng(_WORLD_SEED)
    brands, brand_weight = _brands(rng)
    model_names, model_owner, model_weight = _models(rng, brands, brand_weight)
    owner = np.asarray(model_owner, dtype=np.int64)
    start = np.searchsorted(owner, np.arange(len(brands) + 1)).astype(np.int64)
    label_ids, categories, label_theme, label_weight = _labels(rng)
    label_used = rng.random(label_ids.size) < 0.55  # 507 of 930 labels are used in the data
    label_used[:4] = True

    # Sessions by hour of day: quiet at night, peaks at 10h and 21h (Beijing time).
    hours = np.arange(24, dtype=np.float64)
    hour_base = (
        0.15
        + np.exp(-0.5 * ((hours - 10) / 2.5) ** 2)
        + 1.2 * np.exp(-0.5 * ((hours - 21) / 2.0) ** 2)
        + 0.6 * np.exp(-0.5 * ((hours - 15) / 3.0) ** 2)
    )
    hour_base[1:6] *= 0.25
    hour_base /= hour_base.sum()
    night = np.isin(hours, (23, 0, 1, 2, 3)).astype(np.float64)
    morning = np.isin(hours, (5, 6, 7, 8)).astype(np.float64)
    daytime = ((hours >= 9) & (hours <= 17)).astype(np.float64)
    # Young users are up late, older ones early; women a little more in the daytime.
    hour_effect = (
        np.outer(night, -0.35 * _Z + 0.1 * _MALE)
        + np.outer(morning, 0.3 * _Z)
        + np.outer(daytime, -0.08 * _MALE)
        + _effects(rng, 24, 0.04)
    )
    weekend = np.array([1.0, 0, 0, 0, 0, 0, 1.0])  # 2016-05-01 was a Sunday
    day_effect = np.outer(weekend, -0.08 * _Z) + _effects(rng, 7, 0.02)

    return World(
        brand_names=np.asarray(brands, dtype=object),
        brand_weight=brand_weight,
        brand_effect=_effects(rng, len(brands), 0.14),
        model_names=np.asarray(model_names, dtype=object),
        model_brand=owner,
        model_weight=model_weight,
        model_effect=_effects(rng, len(model_names), 0.19),
        brand_model_start=start,
        label_ids=label_ids.astype(np.int64),
        label_category=np.asarray(categories, dtype=object),
        label_theme=label_theme,
        label_used=label_used,
        label_weight=label_weight,
        theme_u=_THEME_U,
        hour_base=hour_base,
        hour_effect=hour_effect,
        day_effect=day_effect,
    )
