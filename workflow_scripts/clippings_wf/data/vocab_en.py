"""Vocabularies and fonts for generated mid-20th-century US firm names (the English counterpart of vocab_ja).

Heads are Faker's en_US surnames and states plus a few period-typical places and heads; tails are industry words.
The role of Japanese old character forms is played by abbreviated words (Manufacturing / Mfg., Brothers / Bros.,
and / &): a query may print a firm's name with other word forms and another legal form than its reference.
"""

# Industry words: many firms share them, so names differ by a word or two.
INDUSTRY_WORDS = (
    "Steel", "Iron", "Paper", "Textile", "Cotton", "Woolen", "Silk", "Shoe", "Glass", "Chemical",
    "Rubber", "Oil", "Coal", "Lumber", "Furniture", "Machine", "Tool", "Motor", "Electric", "Radio",
    "Railway", "Trust", "Insurance", "Brewing", "Baking", "Canning", "Packing", "Printing", "Publishing",
    "Shipbuilding", "Cement", "Fertilizer", "Paint", "Soap", "Tobacco", "Sugar", "Flour", "Dairy", "Hardware",
    "Drug", "Optical", "Wire", "Cable", "Mining", "Copper", "Zinc", "Stove", "Pump", "Valve",
    "Boiler", "Engine", "Aircraft", "Trucking", "Freight", "Steamship", "Transit", "Telephone", "Gas", "Power",
    "Candy", "Biscuit", "Tire", "Battery", "Lamp", "Clock", "Piano", "Button", "Leather", "Knitting",
)

# Optional words after the industry word (Hartford Steel Products).
MODIFIERS = ("Manufacturing", "Works", "Mills", "Products", "Industries", "Supply", "Trading", "Engineering",
             "Sales", "Foundry")

# Heads that are neither surnames nor states but are common in firm names of the period.
GENERIC_HEADS = (
    "American", "National", "United", "General", "Standard", "Continental", "Pacific", "Atlantic", "Union",
    "Eagle", "Liberty", "Empire", "Keystone", "Globe", "Federal", "Consolidated", "International", "Western",
    "Eastern", "Northern", "Southern", "Central", "Midland", "Pioneer", "Crown", "Star", "Acme", "Superior",
    "Reliance", "Victory",
)
# Industrial towns, as a period directory would list them (Faker's en_US cities are invented).
PLACES = (
    "Hartford", "Pittsburgh", "Detroit", "Toledo", "Akron", "Dayton", "Buffalo", "Cleveland", "Chicago", "Boston",
    "Newark", "Trenton", "Lowell", "Worcester", "Providence", "Baltimore", "Richmond", "Atlanta", "Memphis",
    "Louisville", "Cincinnati", "Milwaukee", "Minneapolis", "Omaha", "Denver", "Portland", "Seattle", "Oakland",
    "Houston", "Dallas", "Tulsa", "Birmingham", "Scranton", "Reading", "Allentown", "Syracuse", "Rochester",
    "Albany", "Bridgeport", "Springfield",
)

# Name patterns before the legal form: {head} {industry}[ {modifier}], {surname} Brothers[ {industry}],
# {surname} & Sons, {surname} & {surname}[ {industry}].
PATTERN_WEIGHTS = (("industry", 0.6), ("brothers", 0.14), ("sons", 0.13), ("partners", 0.13))

# Full word -> abbreviation, as period print shortens them (and "&" spelled out); a query changes each with
# probability p.
ABBREVIATIONS = {
    "Manufacturing": "Mfg.", "Brothers": "Bros.", "&": "and", "Industries": "Inds.", "Products": "Prods.",
    "Engineering": "Eng.", "Railway": "Ry.", "Electric": "Elec.", "National": "Nat'l", "American": "Amer.",
    "Insurance": "Ins.", "Machine": "Mach.", "Chemical": "Chem.", "Company": "Co.", "Corporation": "Corp.",
    "Incorporated": "Inc.", "Limited": "Ltd.",
}
# Lowercased word without dots or apostrophes -> full lowercased word, for comparing names (``canonical_words``);
# "&" and "and" both become "and".
EXPANSIONS = {abbr.lower().replace(".", "").replace("'", ""): full.lower()
              for full, abbr in ABBREVIATIONS.items() if full != "&"}
EXPANSIONS["&"] = "and"

# Legal forms a firm is registered under (full, abbreviated); None = no legal form in its name.
LEGAL_FORMS = (("Company", "Co."), ("Corporation", "Corp."), ("Incorporated", "Inc."), ("Limited", "Ltd."))
LEGAL_FORM_WEIGHTS = (0.35, 0.2, 0.2, 0.05)  # the remaining 0.2: no legal form
LEGAL_WORDS = ("company", "corporation", "incorporated", "limited")

# stem -> (path, face index, Debian package). Typewriter faces (Courier-like monospace) and newspaper or
# directory serifs (Century Schoolbook, Times, Palatino, Bookman clones).
_URW = "/usr/share/fonts/opentype/urw-base35"
FONTS = {
    "C059-Roman": (f"{_URW}/C059-Roman.otf", 0, "fonts-urw-base35"),
    "NimbusRoman-Regular": (f"{_URW}/NimbusRoman-Regular.otf", 0, "fonts-urw-base35"),
    "P052-Roman": (f"{_URW}/P052-Roman.otf", 0, "fonts-urw-base35"),
    "URWBookman-Light": (f"{_URW}/URWBookman-Light.otf", 0, "fonts-urw-base35"),
    "NimbusMonoPS-Regular": (f"{_URW}/NimbusMonoPS-Regular.otf", 0, "fonts-urw-base35"),
    "FreeMono": ("/usr/share/fonts/truetype/freefont/FreeMono.ttf", 0, "fonts-freefont-ttf"),
    "FreeSerif": ("/usr/share/fonts/truetype/freefont/FreeSerif.ttf", 0, "fonts-freefont-ttf"),
    "LiberationMono-Regular": ("/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf", 0,
                               "fonts-liberation"),
    "LiberationSerif-Regular": ("/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf", 0,
                                "fonts-liberation"),
    "DejaVuSerif": ("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", 0, "fonts-dejavu-core"),
}
# A directory is set in a book serif; query lists come from typewriters and many printers.
REFERENCE_FONTS = ("C059-Roman", "NimbusRoman-Regular")
QUERY_FONTS = tuple(FONTS)


def abbreviate(text, rng, p):
    """Each word with an abbreviation (Manufacturing, Brothers, &, Company ...) is shortened with probability ``p``."""
    if p <= 0:
        return text
    words = text.split(" ")
    return " ".join(ABBREVIATIONS[w] if w in ABBREVIATIONS and rng.random() < p else w for w in words)


def canonical_words(text):
    """Lowercased words with abbreviations expanded and dots, commas and apostrophes dropped (Bros. -> brothers)."""
    words = text.lower().replace("&", " & ").split()
    words = [w.strip(".,").replace("'", "").replace(".", "") or w for w in words]
    return [EXPANSIONS.get(w, w) for w in words]
