"""Generated names: members appear to each other only as "Quiet Birch 42"; prisoners as an alias.

Drawn with `secrets` so a name says nothing about when or in what order someone joined.
"""

from __future__ import annotations

import secrets

ADJECTIVES = (
    "Quiet", "Bright", "Calm", "Gentle", "Brave", "Silver", "Swift", "Warm", "Clear", "Steady", "Kind",
    "Amber", "Golden", "Green", "Misty", "Patient", "Bold", "Wise", "Early", "Northern", "Soft", "Still",
    "Hidden", "Little", "Loyal", "Honest", "Deep", "Light", "Wild", "Lucky", "Faithful", "Humble",
)
NOUNS = (
    "Birch", "Linden", "Stork", "Heron", "Fern", "River", "Meadow", "Willow", "Oak", "Rowan", "Cornflower",
    "Lark", "Owl", "Marten", "Bison", "Pine", "Aspen", "Brook", "Harbor", "Lantern", "Sparrow", "Clover",
    "Maple", "Juniper", "Otter", "Thistle", "Finch", "Beacon", "Hazel", "Crane", "Poppy", "Elk",
)
PRISONER_WORDS = (
    "Aster", "Bell", "Cedar", "Dawn", "Ember", "Flax", "Grove", "Haven", "Iris", "Jasmine", "Kestrel",
    "Lily", "Myrtle", "Nettle", "Orchid", "Pearl", "Quill", "Rose", "Sage", "Tansy", "Umber", "Violet",
    "Wren", "Yarrow", "Zinnia", "Alder", "Briar", "Coral", "Daisy", "Elder", "Fennel", "Garnet",
)


def member_pseudonym() -> str:
    return f"{secrets.choice(ADJECTIVES)} {secrets.choice(NOUNS)} {10 + secrets.randbelow(90)}"


def prisoner_alias() -> str:
    return f"{secrets.choice(PRISONER_WORDS)}-{100 + secrets.randbelow(900)}"
