"""Category taxonomies and the words item names and descriptions are built from.

Every leaf category owns its own nouns and every top-level category its own adjectives, materials,
features and uses, so two items of one category share far more words than two items of different
categories: text similarity on the generated descriptions tracks the category structure.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Department:
    """A top-level shop category (``CATEGORY_L1``) with its leaf categories and vocabulary."""

    name: str
    leaves: tuple[tuple[str, tuple[str, ...]], ...]  # (CATEGORY_L2, nouns used in names)
    adjectives: tuple[str, ...]
    materials: tuple[str, ...]
    features: tuple[str, ...]
    uses: tuple[str, ...]


@dataclass(frozen=True)
class Genre:
    """A film genre with the words its titles and synopses are built from."""

    name: str
    related: tuple[str, str, str]  # genres that appear beside it in GENRES
    adjectives: tuple[str, ...]
    nouns: tuple[str, ...]
    subjects: tuple[str, ...]
    plots: tuple[str, ...]
    settings: tuple[str, ...]
    tone: str
    minutes: int  # typical running time


BRANDS: tuple[str, ...] = (
    "Northpeak",
    "Lumen",
    "Harbor & Finch",
    "Oakline",
    "Veloce",
    "Saltmarsh",
    "Kestrel",
    "Brightwell",
    "Ironbark",
    "Marlow",
    "Tidewater",
    "Copperleaf",
    "Alder",
    "Summit Co.",
    "Juniper",
    "Bellhaven",
)

COLORS: tuple[str, ...] = (
    "black",
    "white",
    "navy",
    "olive",
    "charcoal",
    "sand",
    "burgundy",
    "teal",
    "mustard",
    "sage",
    "slate",
    "ivory",
    "rust",
    "forest green",
)

DEPARTMENTS: tuple[Department, ...] = (
    Department(
        "apparel",
        (
            ("shirt", ("Shirt", "Tee", "Polo", "Henley")),
            ("jacket", ("Jacket", "Parka", "Windbreaker")),
            ("dress", ("Dress", "Sundress", "Wrap Dress")),
            ("trousers", ("Chinos", "Trousers", "Joggers")),
        ),
        ("Breezy", "Tailored", "Relaxed", "Classic", "Lightweight", "Cozy", "Slim-Fit", "Vintage"),
        (
            "organic cotton",
            "linen",
            "merino wool",
            "recycled polyester",
            "brushed flannel",
            "denim",
        ),
        (
            "Features reinforced seams and a relaxed fit",
            "Has a soft hand feel and a tagless collar",
            "Comes with deep pockets and a tapered cut",
            "Keeps its shape wash after wash",
        ),
        ("everyday wear", "casual weekends", "the office", "layering in cool weather"),
    ),
    Department(
        "footwear",
        (
            ("sneakers", ("Sneakers", "Trainers", "Runners")),
            ("boots", ("Boots", "Chelsea Boots")),
            ("sandals", ("Sandals", "Slides", "Flip-Flops")),
            ("slippers", ("Slippers", "Moccasins")),
        ),
        ("Cushioned", "Rugged", "Waterproof", "Breathable", "Lightweight", "Grippy", "Classic"),
        ("full-grain leather", "suede", "knit mesh", "rubber", "shearling", "canvas"),
        (
            "Features a cushioned insole and a grippy outsole",
            "Has a padded collar and sturdy laces",
            "Comes with arch support for long days",
            "Dries quickly after a rainy walk",
        ),
        ("long walks", "trail running", "city commutes", "lounging at home"),
    ),
    Department(
        "accessories",
        (
            ("backpack", ("Backpack", "Daypack", "Rucksack")),
            ("wallet", ("Wallet", "Card Holder")),
            ("watch", ("Watch", "Chronograph")),
            ("sunglasses", ("Sunglasses", "Shades", "Aviators")),
        ),
        ("Minimalist", "Adventure-Ready", "Elegant", "Compact", "Durable", "Sleek", "Handcrafted"),
        ("waxed canvas", "vegan leather", "stainless steel", "ballistic nylon", "acetate"),
        (
            "Features multiple compartments and adjustable straps",
            "Has a scratch-resistant finish",
            "Comes with a lifetime warranty",
            "Slips easily into a pocket or bag",
        ),
        ("daily commutes", "weekend trips", "outdoor adventures", "gifting"),
    ),
    Department(
        "electronics",
        (
            ("headphones", ("Headphones", "Earbuds", "Headset")),
            ("speaker", ("Speaker", "Soundbar")),
            ("charger", ("Charger", "Power Bank", "Charging Dock")),
            ("camera", ("Camera", "Action Cam")),
        ),
        ("Wireless", "Noise-Cancelling", "Portable", "Smart", "High-Fidelity", "Rugged", "Compact"),
        ("aluminium housing", "matte polymer", "tempered glass", "silicone grip"),
        (
            "Features a long battery life and fast charging",
            "Has Bluetooth pairing and voice control",
            "Comes with a USB-C cable and travel pouch",
            "Delivers crisp sound and deep bass",
        ),
        ("travel", "working from home", "the gym", "recording your adventures"),
    ),
    Department(
        "homedecor",
        (
            ("lamp", ("Lamp", "Floor Lamp", "Pendant Light")),
            ("rug", ("Rug", "Runner", "Mat")),
            ("vase", ("Vase", "Planter", "Vessel")),
            ("mirror", ("Mirror", "Wall Mirror")),
        ),
        ("Rustic", "Modern", "Scandinavian", "Bohemian", "Handwoven", "Elegant", "Art Deco"),
        ("ceramic", "rattan", "brass", "jute", "hand-blown glass", "reclaimed wood"),
        (
            "Features a warm glow and a dimmable switch",
            "Has a textured finish and a weighted base",
            "Adds a bold accent to any shelf",
            "Ties a living room together",
        ),
        ("living rooms", "entryways", "bedrooms", "housewarming gifts"),
    ),
    Department(
        "housewares",
        (
            ("cookware", ("Skillet", "Dutch Oven", "Saucepan")),
            ("knives", ("Chef Knife", "Knife Set")),
            ("mugs", ("Mug", "Tumbler", "Travel Cup")),
            ("storage", ("Canister", "Storage Jar", "Bento")),
        ),
        ("Nonstick", "Cast-Iron", "Stackable", "Insulated", "Professional", "Dishwasher-Safe"),
        ("enamelled cast iron", "carbon steel", "stoneware", "borosilicate glass", "bamboo"),
        (
            "Features even heat distribution",
            "Has an ergonomic handle and a pouring lip",
            "Keeps drinks hot for hours",
            "Seals tightly to keep food fresh",
        ),
        ("weeknight dinners", "meal prep", "morning coffee", "entertaining guests"),
    ),
    Department(
        "furniture",
        (
            ("chair", ("Chair", "Armchair", "Stool")),
            ("table", ("Table", "Coffee Table", "Desk")),
            ("sofa", ("Sofa", "Loveseat", "Sectional")),
            ("shelf", ("Bookshelf", "Shelf", "Console")),
        ),
        ("Mid-Century", "Solid", "Ergonomic", "Convertible", "Minimal", "Sturdy", "Upholstered"),
        ("solid oak", "walnut veneer", "powder-coated steel", "boucle fabric", "velvet"),
        (
            "Features tool-free assembly and stable legs",
            "Has generous seating and firm cushions",
            "Comes with adjustable feet for uneven floors",
            "Offers plenty of hidden storage",
        ),
        ("small apartments", "home offices", "family rooms", "reading corners"),
    ),
    Department(
        "groceries",
        (
            ("coffee", ("Coffee Beans", "Espresso Roast", "Cold Brew")),
            ("tea", ("Green Tea", "Chai")),
            ("snacks", ("Trail Mix", "Granola Bars", "Crackers")),
            ("pasta", ("Pasta", "Linguine")),
        ),
        ("Organic", "Single-Origin", "Artisan", "Small-Batch", "Gluten-Free", "Roasted", "Savory"),
        ("fair-trade beans", "whole grains", "wild honey", "sea salt", "durum wheat"),
        (
            "Features rich flavour with notes of caramel",
            "Has no artificial preservatives",
            "Comes in a resealable bag",
            "Cooks in under ten minutes",
        ),
        ("busy mornings", "afternoon snacking", "pantry stocking", "family dinners"),
    ),
    Department(
        "beauty",
        (
            ("skincare", ("Moisturizer", "Serum", "Cleanser")),
            ("fragrance", ("Eau de Parfum", "Mist")),
            ("haircare", ("Shampoo", "Conditioner", "Hair Oil")),
            ("makeup", ("Lipstick", "Mascara")),
        ),
        ("Hydrating", "Gentle", "Radiant", "Fragrance-Free", "Nourishing", "Long-Lasting"),
        ("hyaluronic acid", "argan oil", "shea butter", "vitamin C", "aloe vera"),
        (
            "Features a lightweight non-greasy formula",
            "Has a subtle floral scent",
            "Is dermatologist tested for sensitive skin",
            "Absorbs quickly and lasts all day",
        ),
        ("daily routines", "sensitive skin", "evenings out", "self-care days"),
    ),
    Department(
        "outdoors",
        (
            ("tent", ("Tent", "Shelter", "Bivy")),
            ("sleeping bag", ("Sleeping Bag", "Quilt")),
            ("hiking pole", ("Trekking Poles", "Hiking Staff")),
            ("lantern", ("Lantern", "Headlamp")),
        ),
        ("Ultralight", "Weatherproof", "Packable", "Four-Season", "Rugged", "Trail-Ready"),
        ("ripstop nylon", "aluminium poles", "down insulation", "carbon fibre"),
        (
            "Features a quick pitch design and taped seams",
            "Has a compression sack for packing",
            "Comes with a rechargeable battery",
            "Stands up to wind and rain",
        ),
        ("backcountry camping", "weekend hikes", "festival trips", "emergency kits"),
    ),
    Department(
        "instruments",
        (
            ("guitar", ("Acoustic Guitar", "Electric Guitar")),
            ("keyboard", ("Keyboard", "Synth")),
            ("drums", ("Drum Kit", "Snare", "Cajon")),
            ("ukulele", ("Ukulele", "Concert Ukulele")),
        ),
        ("Vintage-Style", "Beginner", "Stage-Ready", "Handmade", "Resonant", "Compact"),
        ("solid spruce top", "mahogany body", "weighted keys", "birch shells"),
        (
            "Features a warm balanced tone",
            "Has a comfortable neck profile",
            "Comes with a gig bag and tuner",
            "Stays in tune through long sessions",
        ),
        ("beginners", "live gigs", "home recording", "practice sessions"),
    ),
)

GENRES: tuple[Genre, ...] = (
    Genre(
        "Action",
        ("Adventure", "Thriller", "Sci-Fi"),
        ("Last", "Final", "Iron", "Burning"),
        ("Protocol", "Strike", "Vendetta", "Pursuit"),
        ("A disgraced soldier", "An ex-cop"),
        ("fights through a city on lockdown", "races to stop a hijacked train"),
        ("in a neon-lit megacity", "across three continents"),
        "explosive",
        115,
    ),
    Genre(
        "Adventure",
        ("Action", "Fantasy", "Family"),
        ("Lost", "Hidden", "Forgotten", "Wild"),
        ("Expedition", "Treasure", "Map", "Island"),
        ("A young cartographer", "Two rival explorers"),
        ("search for a legendary temple", "set sail for an uncharted island"),
        ("deep in the jungle", "beyond the northern ice"),
        "sweeping",
        120,
    ),
    Genre(
        "Animation",
        ("Family", "Comedy", "Fantasy"),
        ("Little", "Magic", "Brave", "Tiny"),
        ("Robot", "Dragon", "Kingdom", "Friends"),
        ("A curious fox", "A lonely little robot"),
        ("sets off to find a lost friend", "learns to fly against all odds"),
        ("in a town made of candy", "under the sea"),
        "heartwarming",
        90,
    ),
    Genre(
        "Comedy",
        ("Romance", "Family", "Drama"),
        ("Big", "Wild", "Awkward", "Perfect"),
        ("Wedding", "Weekend", "Roommates", "Road Trip"),
        ("Two mismatched friends", "A clumsy chef"),
        ("accidentally book the same holiday", "fake an engagement to save a restaurant"),
        ("in a chaotic small town", "during one disastrous weekend"),
        "hilarious",
        100,
    ),
    Genre(
        "Crime",
        ("Thriller", "Drama", "Mystery"),
        ("Dirty", "Silent", "Cold", "Crooked"),
        ("Money", "Heist", "Syndicate", "Witness"),
        ("A veteran detective", "A getaway driver"),
        ("plans one last heist", "infiltrates a family crime syndicate"),
        ("on the docks of a rain-soaked city", "in 1970s New York"),
        "gritty",
        125,
    ),
    Genre(
        "Documentary",
        ("Drama", "Adventure", "Musical"),
        ("Untold", "Inside", "True", "Secret"),
        ("Story", "Planet", "Ocean", "Revolution"),
        ("Filmmakers", "A team of scientists"),
        ("follow a year in the life of wild wolves", "investigate the collapse of a bank"),
        ("across the Arctic", "behind closed doors"),
        "eye-opening",
        95,
    ),
    Genre(
        "Drama",
        ("Romance", "Crime", "Documentary"),
        ("Quiet", "Broken", "Long", "Distant"),
        ("Summer", "Homecoming", "Letters", "Promise"),
        ("A grieving father", "Three sisters"),
        ("return home to settle old wounds", "fight to keep the family farm"),
        ("in a fading coastal town", "over one unforgettable summer"),
        "moving",
        118,
    ),
    Genre(
        "Family",
        ("Animation", "Comedy", "Adventure"),
        ("Great", "Happy", "Secret", "Magic"),
        ("Puppy", "Treehouse", "Holiday", "Garden"),
        ("A spirited ten-year-old", "A rescue dog"),
        ("saves the neighbourhood fair", "finds a way home for the holidays"),
        ("in a sleepy village", "over winter break"),
        "charming",
        95,
    ),
    Genre(
        "Fantasy",
        ("Adventure", "Animation", "Romance"),
        ("Enchanted", "Shadow", "Crystal"),
        ("Crown", "Sorcerer", "Realm", "Prophecy"),
        ("An orphaned apprentice", "A banished prince"),
        ("must master forbidden magic", "seeks a crown stolen by a sorcerer"),
        ("in a realm of floating islands", "beyond the edge of the world"),
        "epic",
        130,
    ),
    Genre(
        "Horror",
        ("Thriller", "Mystery", "Sci-Fi"),
        ("Haunted", "Dead", "Hollow", "Cursed"),
        ("House", "Lighthouse", "Whispers", "Cellar"),
        ("A family of four", "A group of students"),
        ("move into a house that remembers", "wake something beneath the lake"),
        ("in a snowbound village", "on a moonless night"),
        "terrifying",
        95,
    ),
    Genre(
        "Musical",
        ("Romance", "Drama", "Comedy"),
        ("Golden", "Midnight", "Electric", "Starlit"),
        ("Melody", "Stage", "Encore", "Rhythm"),
        ("A shy songwriter", "A small-town dancer"),
        ("chases a spot on Broadway", "reunites an old band for one last show"),
        ("in 1950s Chicago", "under the bright lights"),
        "joyful",
        110,
    ),
    Genre(
        "Mystery",
        ("Crime", "Thriller", "Horror"),
        ("Vanishing", "Missing", "Secret", "Twelfth"),
        ("Clue", "Manor", "Key", "Guest"),
        ("An amateur sleuth", "A retired inspector"),
        ("unravels a murder at a country manor", "tracks a vanished heiress"),
        ("on a snowbound train", "in a village full of secrets"),
        "twisty",
        105,
    ),
    Genre(
        "Romance",
        ("Comedy", "Drama", "Musical"),
        ("Endless", "Sweet", "Second", "Paris"),
        ("Love", "Kiss", "Postcards", "Chance"),
        ("Two strangers", "A florist and an architect"),
        ("fall in love over one summer", "keep meeting by chance"),
        ("in the streets of Lisbon", "over a rainy season"),
        "tender",
        105,
    ),
    Genre(
        "Sci-Fi",
        ("Action", "Thriller", "Adventure"),
        ("Quantum", "Dark", "Infinite", "Red"),
        ("Horizon", "Signal", "Colony", "Machine"),
        ("A lone astronaut", "An android detective"),
        ("decodes a signal from deep space", "wakes a century early on a colony ship"),
        ("on a dying Mars colony", "in the year 2240"),
        "mind-bending",
        125,
    ),
    Genre(
        "Thriller",
        ("Crime", "Action", "Mystery"),
        ("Dead", "Blind", "Fatal", "Double"),
        ("Alibi", "Conspiracy", "Deadline", "Target"),
        ("A journalist", "A hacker on the run"),
        ("uncovers a conspiracy reaching the top", "has twenty-four hours to clear her name"),
        ("in a paranoid capital", "over one long night"),
        "gripping",
        110,
    ),
    Genre(
        "Western",
        ("Action", "Drama", "Adventure"),
        ("Dusty", "Lone", "High", "Wild"),
        ("Frontier", "Outlaw", "Canyon", "Sheriff"),
        ("A weary bounty hunter", "A rancher's widow"),
        ("rides out for revenge", "defends a frontier town from outlaws"),
        ("on the high plains", "in 1880s Texas"),
        "rugged",
        120,
    ),
)
