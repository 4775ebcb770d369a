"""The embedded parser's vocabulary: readable tables of phrase -> attribute values (Mach §2.1).

Phrases are written normalised: lower case, hyphens as spaces ("blue-eyed" -> "blue eyed").
Values use the conventions of :mod:`machcreator.attributes` (levels in [-1, 1], amounts in
[0, 1], ages in years, hair length in cm, colours from ``COLORS``).

Four kinds of entry:
- ``NOUNS``: a head word with a *class* (what adjectives and colours in front of it describe)
  and the values it sets on its own ("beard" -> a full beard).
- ``ADJECTIVES``: a modifier whose meaning depends on the class of the noun it binds to
  ("long" hair vs "long" face vs "long" beard); the ``"*"`` row is used when it binds to
  nothing it describes ("she is tall").
- ``COLOR_WORDS``: colour phrases -> a ``COLORS`` name; they bind to a noun class's colour slot.
- ``PHRASES``: fixed expressions that need no binding ("clean shaven", "smoky eyes").

Words that are understood but set nothing (``NEUTRAL_WORDS``: "handsome", "sailor", "studio")
are read like grammar words, so they are neither reported as unknown nor guessed at.
"""

from __future__ import annotations

from typing import Any

Sets = dict[str, Any]

# --- grammar words ---------------------------------------------------------------------------

STOP_WORDS = frozenset(
    """a an the and or nor of with in on at to for from by as is are was were be been being has have
    had having who whom which that this these those there their theirs they them it its i me my we our
    you your wearing wears wear dressed sporting sports holding standing sitting looking looks look
    appears appearing person people character someone somebody portrait photo picture image render
    type kind sort some any very also just really rather quite pretty bit little lot lots plenty
    several pair set one two both each her his she he him hers herself himself but yet so into onto
    across over under through around behind near above below while when where what how whose if than
    then too can could would should will shall may might must do does did get gets got up""".split()
)
# "her"/"his"/"she"/"he" are listed as stop words so they never count as unknown; they still set
# the gender through PRONOUNS below.

#: Words understood to carry no attribute the record can hold: looks and mood, roles and trades,
#: nationalities that say nothing about ancestry, render and framing talk, hedges ("about 50"),
#: body parts and garments the record has no field for. Read as stop words.
NEUTRAL_WORDS = frozenset(
    """beautiful handsome cute gorgeous attractive lovely stunning good ugly plain homely charming
    elegant stylish classy fashionable trendy casual cool friendly gentle warm cheerful happy joyful
    smiling grinning laughing sad serious stern grumpy angry tired weary confident shy mysterious wise
    intelligent nerdy geeky quirky tough fierce proud noble regal calm thoughtful pensive determined
    focused curious nervous worried stoic expression expressions hunched gruff bad goth emo gap neatly sea
    sprinkling smattering dusting missing case
    farmer sailor soldier pirate knight warrior chef cook baker artist painter musician singer guitarist
    drummer scientist professor teacher schoolteacher doctor nurse surgeon detective hunter programmer
    developer engineer worker mechanic carpenter builder firefighter officer cop captain pilot astronaut
    explorer adventurer traveler traveller tourist student villager peasant merchant shopkeeper librarian
    lawyer banker ceo executive manager clerk model dancer runner boxer wrestler hiker biker skater surfer
    gamer hacker rockstar rocker star poet writer author journalist photographer priest shepherd hermit
    vagabond beggar villain mercenary assassin thief rogue ranger bard citizen resident local neighbor
    neighbour stranger friend customer veteran professional office
    american british canadian australian new yorker californian texan
    photorealistic realistic photograph headshot closeup close studio lighting background detailed
    highly detail hd 4k 8k cinematic dramatic front view profile length shot style stylized
    natural dyed colored coloured tinted hued shade ish
    about approximately roughly nearly almost circa approx maybe perhaps probably possibly like
    create generate make draw design imagine depict show give
    age years year
    tattoo tattoos tattooed piercing piercings pierced ring rings septum braces teeth grin eyelashes lashes
    arms legs hands neck chest fingers nails knitting cane
    uniform apron gloves belt socks cloak robe cape armor armour overalls leggings tights pajamas pyjamas
    vest jewelry jewellery swimsuit swimsuits bikini wetsuit jumpsuit bodysuit catsuit spacesuit boilersuit onesie
    dungarees balaclava monocle""".split()
)

NEGATORS = frozenset(
    "no not without never isn't aren't doesn't don't didn't hasn't lacks lacking free".split()
)
#: Words that end a negation's reach ("no glasses and a red hat": the hat is not negated).
NEGATION_ENDS = frozenset("and but with , . ; ! ?".split())
#: Tokens that stop an adjective from binding to a noun further on ("red with long hair").
BINDING_BLOCKERS = frozenset(
    """with wearing in on has have having who is are was were that which of a an the her his their
    my your its but""".split()
) | frozenset(",.;!?")
CLAUSE_ENDS = frozenset(",.;!?") | {"but"}

#: Multipliers for the next adjective or phrase (Mach §2.1 leaves intensity to the LLM; we scale).
INTENSIFIERS: dict[str, float] = {
    "extremely": 2.0, "incredibly": 2.0, "exceptionally": 2.0, "super": 1.8, "very": 1.6,
    "really": 1.5, "so": 1.5, "quite": 1.3, "rather": 1.2, "pretty": 1.2, "fairly": 1.0,
    "somewhat": 0.7, "moderately": 0.7, "a bit": 0.5, "kind of": 0.7, "sort of": 0.7,
    "slightly": 0.5, "mildly": 0.5, "a touch": 0.5, "barely": 0.3, "lightly": 0.6, "heavily": 1.5, "deeply": 1.5,
}

PRONOUNS: dict[str, str] = {
    "she": "female", "her": "female", "hers": "female", "herself": "female",
    "he": "male", "him": "male", "his": "male", "himself": "male",
}

NUMBER_WORDS: dict[str, int] = {
    w: i for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen".split()
    )
} | {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
     "eighty": 80, "ninety": 90}

#: "in her forties" / "40s" -> decade start; "early"/"mid"/"late" pick 2/5/8 years into it.
DECADES: dict[str, int] = {
    "teens": 10, "twenties": 20, "thirties": 30, "forties": 40, "fifties": 50, "sixties": 60,
    "seventies": 70, "eighties": 80, "nineties": 90,
}
DECADE_OFFSETS: dict[str, float] = {"early": 2.0, "mid": 5.0, "late": 8.0}

# --- colours ---------------------------------------------------------------------------------

COLOR_WORDS: dict[str, str] = {
    "black": "black", "jet black": "black", "raven": "black", "dark brown": "dark_brown",
    "chocolate": "dark_brown", "chestnut": "brown", "brown": "brown", "brunette": "dark_brown",
    "light brown": "light_brown", "auburn": "auburn", "red": "red", "ginger": "ginger",
    "copper": "ginger", "strawberry blonde": "strawberry_blonde", "strawberry blond": "strawberry_blonde",
    "blonde": "blonde", "blond": "blonde", "golden": "gold", "gold": "gold", "platinum": "platinum",
    "platinum blonde": "platinum", "grey": "grey", "gray": "grey", "silver": "silver",
    "salt and pepper": "salt_and_pepper", "white": "white", "snow white": "white",
    "hazel": "hazel", "amber": "amber", "green": "green", "emerald": "green", "blue": "blue",
    "light blue": "light_blue", "pale blue": "light_blue", "sky blue": "light_blue", "ice blue": "light_blue",
    "navy": "navy", "navy blue": "navy", "dark blue": "navy", "pink": "pink", "purple": "purple",
    "violet": "purple", "lilac": "purple", "orange": "orange", "yellow": "yellow", "beige": "beige",
    "cream": "beige", "tan": "beige", "khaki": "khaki", "olive": "olive", "olive green": "olive",
    "teal": "teal", "turquoise": "teal", "burgundy": "burgundy", "maroon": "burgundy",
    "wine": "burgundy", "nude": "nude", "charcoal": "charcoal", "dark grey": "charcoal",
    "dark gray": "charcoal", "denim": "denim", "scarlet": "red", "cherry": "red", "crimson": "red", "ruby": "red",
    "fiery": "red", "flaxen": "blonde", "honey": "blonde", "sandy": "blonde", "azure": "blue",
    "cobalt": "blue", "sapphire": "blue", "jade": "green", "mahogany": "auburn", "ash": "grey",
    "ashen": "grey", "coal": "black", "ivory": "white", "magenta": "pink", "lavender": "purple",
    # the words people use for hair: shades and compounds read as one colour
    "jet": "black", "pitch black": "black", "inky": "black", "onyx": "black", "obsidian": "black",
    "blue black": "black", "dark chocolate": "dark_brown", "chocolate brown": "dark_brown",
    "coffee": "dark_brown", "espresso": "dark_brown", "cocoa": "dark_brown", "chestnut brown": "brown",
    "mocha": "brown", "walnut": "brown", "caramel": "light_brown", "toffee": "light_brown",
    "mousy": "light_brown", "mousey": "light_brown", "mousy brown": "light_brown",
    "mousey brown": "light_brown", "sandy brown": "light_brown", "ash brown": "light_brown",
    "golden brown": "light_brown", "honey brown": "light_brown", "dark blonde": "light_brown",
    "dark blond": "light_brown", "ash blonde": "blonde", "ash blond": "blonde", "dirty blonde": "blonde",
    "dirty blond": "blonde", "honey blonde": "blonde", "honey blond": "blonde", "golden blonde": "blonde",
    "golden blond": "blonde", "sandy blonde": "blonde", "sandy blond": "blonde",
    "bleached": "platinum", "bleached blonde": "platinum", "peroxide": "platinum", "peroxide blonde": "platinum",
    "titian": "auburn", "russet": "auburn", "cinnamon": "auburn", "dark red": "auburn", "rust": "ginger",
    "copper red": "ginger", "bright red": "red", "fire red": "red",
    "fiery red": "red", "brick red": "red", "blood red": "red", "greying": "salt_and_pepper",
    "graying": "salt_and_pepper", "grizzled": "salt_and_pepper", "silvery": "silver", "snowy": "white",
    "steel grey": "grey", "steel gray": "grey", "steely": "grey", "slate": "charcoal", "gunmetal": "charcoal",
    "dove grey": "grey", "tawny": "amber", "whiskey": "amber",
    # eyes and garments
    "icy": "light_blue", "icy blue": "light_blue", "baby blue": "light_blue", "powder blue": "light_blue",
    "periwinkle": "light_blue", "steel blue": "blue", "electric blue": "blue", "royal blue": "blue",
    "deep blue": "blue", "ocean blue": "blue", "cerulean": "blue", "midnight blue": "navy",
    "emerald green": "green", "forest green": "green", "bottle green": "green", "mint": "green",
    "lime": "green", "sea green": "teal", "aqua": "teal", "aquamarine": "teal", "cyan": "teal",
    "indigo": "purple", "plum": "purple", "mauve": "purple", "amethyst": "purple", "fuchsia": "pink",
    "hot pink": "pink", "pastel pink": "pink", "coral": "orange", "mustard": "yellow",
    "lemon": "yellow", "berry": "burgundy", "oxblood": "burgundy", "camel": "beige", "taupe": "beige",
    "off white": "white",
}
#: Colour words that mean hair when they bind to nothing ("a blonde woman", "ginger").
HAIR_ONLY_COLORS = frozenset(
    "blonde blond brunette ginger auburn platinum strawberry_blonde salt_and_pepper raven".split()
)
#: Noun class -> the palette its colour slot draws from (``SLOT_COLOR_ALIASES`` key); other
#: classes take any ``COLORS`` name.
COLOR_SLOT_PALETTE: dict[str, str] = {
    "hair": "hair", "brows": "hair", "beard": "hair", "mustache": "hair", "highlights": "hair", "eyes": "eyes",
}
#: Per-slot names for colours outside the slot's palette; else the nearest sRGB is used.
SLOT_COLOR_ALIASES: dict[str, dict[str, str]] = {
    "hair": {"silver": "grey", "gold": "blonde", "yellow": "blonde", "orange": "ginger",
             "beige": "blonde", "charcoal": "black", "navy": "blue", "light_blue": "blue"},
    "eyes": {"black": "dark_brown", "gold": "amber", "silver": "grey", "white": "light_blue",
             "teal": "green", "olive": "hazel", "navy": "blue", "yellow": "amber", "charcoal": "grey",
             "blonde": "amber"},  # "honey eyes"
}
#: Colour words on skin -> ITA degrees ("brown skin", "white skin").
SKIN_COLOR_ITA: dict[str, float] = {
    "white": 55.0, "beige": 40.0, "olive": 30.0, "light_brown": 20.0, "brown": -10.0,
    "dark_brown": -35.0, "black": -50.0, "gold": 25.0,
}
#: Colour words as written, on skin -> ITA degrees, before ``SKIN_COLOR_ITA`` ("caramel skin").
SKIN_WORD_ITA: dict[str, float] = {
    "caramel": 15.0, "toffee": 15.0, "honey": 28.0, "golden": 28.0, "golden brown": 15.0, "bronze": 10.0,
    "mocha": -10.0, "coffee": -25.0, "cocoa": -30.0, "chocolate": -35.0, "dark chocolate": -50.0,
    "espresso": -50.0, "ivory": 62.0, "alabaster": 65.0, "peach": 45.0, "copper": 5.0, "tawny": 20.0,
}
#: Colour words on a person -> ancestry ("a black woman").
PERSON_COLOR_ANCESTRY: dict[str, str] = {"black": "african", "white": "caucasian"}

# --- nouns: phrase -> (class, values it sets alone) ---------------------------------------

def _nouns(cls: str, words: str, sets: Sets | None = None) -> dict[str, tuple[str, Sets]]:
    return {w.strip(): (cls, dict(sets or {})) for w in words.split("|")}


NOUNS: dict[str, tuple[str, Sets]] = {
    # people; gendered heads set the gender, some the age
    **_nouns("person", "person|human|individual|adult|figure|character|face of a person"),
    **_nouns("person", "woman|women|lady|ladies|female|gal|maiden|wife|mother|mom|mum|sister|"
             "daughter|queen|princess|actress|waitress|businesswoman|policewoman|fisherwoman|nun|"
             "witch|bride|aunt|niece|madam|heroine|duchess|empress|goddess|sorceress|lass|lassie|"
             "girlfriend|stewardess|ballerina|granddaughter|stepmother|stepmom|matriarch|widow|dame|"
             "madame|mrs|ms|miss|missus|housewife|noblewoman|gentlewoman|diva|mistress",
             {"body.gender": "female"}),
    **_nouns("person", "man|men|guy|gentleman|gentlemen|male|dude|bloke|lad|fellow|chap|husband|"
             "father|dad|brother|son|king|prince|actor|waiter|businessman|policeman|fisherman|"
             "fishermen|monk|wizard|groom|uncle|nephew|sir|hero|duke|emperor|god|sorcerer|fella|feller|"
             "boyfriend|cowboy|lumberjack|viking|gentleman farmer|laddie|mister|mr|grandson|stepfather|"
             "stepdad|patriarch|widower|bachelor|nobleman|gent|lord", {"body.gender": "male"}),
    **_nouns("person", "grandmother|grandma|granny|old lady|old woman|nana|nan|gran|grandmom|grandmama",
             {"body.gender": "female", "body.age_years": 72.0}),
    **_nouns("person", "grandfather|grandpa|old man|grandad|granddad|gramps|grampa|granddaddy",
             {"body.gender": "male", "body.age_years": 72.0}),
    **_nouns("person", "tomboy", {"body.gender": "female", "face.masculinity": 0.3}),
    **_nouns("person", "teen|teenager|adolescent|youth", {"body.age_years": 16.0}),
    **_nouns("person", "tween|preteen|pre teen", {"body.age_years": 11.0}),
    **_nouns("person", "child|kid|schoolchild|youngster", {"body.age_years": 8.0}),
    **_nouns("person", "young boy|young lad", {"body.gender": "male", "body.age_years": 9.0}),
    **_nouns("person", "young girl", {"body.gender": "female", "body.age_years": 11.0}),
    **_nouns("person", "girl", {"body.gender": "female"}),
    **_nouns("person", "boy", {"body.gender": "male"}),
    **_nouns("person", "preschooler", {"body.age_years": 4.0}),
    **_nouns("person", "toddler", {"body.age_years": 2.5}),
    **_nouns("person", "baby|infant|newborn", {"body.age_years": 1.0}),
    **_nouns("person", "college student|university student|undergrad|undergraduate", {"body.age_years": 20.0}),
    **_nouns("person", "sexagenarian", {"body.age_years": 65.0}),
    **_nouns("person", "septuagenarian", {"body.age_years": 75.0}),
    **_nouns("person", "octogenarian", {"body.age_years": 85.0}),
    **_nouns("person", "nonagenarian", {"body.age_years": 92.0}),
    **_nouns("person", "centenarian", {"body.age_years": 95.0}),
    **_nouns("person", "schoolgirl", {"body.gender": "female", "body.age_years": 10.0}),
    **_nouns("person", "schoolboy", {"body.gender": "male", "body.age_years": 10.0}),
    **_nouns("person", "bodybuilder", {"body.muscle": 1.0, "body.weight": 0.3}),
    **_nouns("person", "athlete", {"body.muscle": 0.5, "body.weight": -0.1}),
    **_nouns("person", "redhead", {"hair.color": "red"}),
    **_nouns("person", "albino", {"hair.color": "white", "eyebrows.color": "white", "skin.tone_ita_deg": 70.0}),
    **_nouns("person", "dwarf", {"body.height": -0.8, "body.weight": 0.3}),
    **_nouns("person", "senior|pensioner|retiree|senior citizen|oap", {"body.age_years": 72.0}),
    **_nouns("person", "silver fox", {"body.gender": "male", "body.age_years": 55.0, "hair.color": "grey"}),
    # body
    **_nouns("skin", "skin|complexion|skinned|skin tone|skintone"),
    **_nouns("body", "body|build|frame|physique|figure|shoulders|torso"),
    **_nouns("body", "belly|pot belly|potbelly|beer belly|paunch", {"body.weight": 0.6}),
    # head and face
    **_nouns("hair", "hair|hairs|haired|hairstyle|hairdo|haircut|locks|mane|tresses|temples"),
    **_nouns("hair", "curls", {"hair.curl": 0.8}),
    **_nouns("hair", "waves", {"hair.curl": 0.5}),
    **_nouns("hair", "perm", {"hair.curl": 0.7}),
    **_nouns("face", "face|faced|head|headed|features|facial features"),
    # a baby face is round and smooth, not a baby's
    **_nouns("face", "baby face|baby faced|babyface|babyfaced",
             {"face.shape": "round", "skin.wrinkles": 0.0, "face.cheekbones": -0.2}),
    **_nouns("jaw", "jaw|jawline|jawed"),
    **_nouns("chin", "chin|chinned"),
    **_nouns("cleft", "cleft chin|cleft|chin cleft|chin dimple|butt chin", {"face.cleft_chin": 0.6}),
    **_nouns("double_chin", "double chin", {"face.double_chin": 0.7, "body.weight": 0.3}),
    **_nouns("double_chin", "jowls|jowly", {"face.double_chin": 0.4}),
    **_nouns("dimples", "dimples|dimple", {"face.dimples": 0.6}),
    **_nouns("cheekbones", "cheekbones|cheekbone|cheeks"),
    **_nouns("forehead", "forehead|brow line"),
    **_nouns("ears", "ears|ear|eared"),
    **_nouns("eyes", "eyes|eye|eyed|irises|iris|gaze"),
    **_nouns("brows", "eyebrows|eyebrow|brows|brow|browed"),
    **_nouns("nose", "nose|nosed"),
    **_nouns("lips", "lips|lip|lipped"),
    **_nouns("mouth", "mouth|mouthed|smile"),
    # skin marks
    **_nouns("freckles", "freckles|freckle|freckled|freckly", {"skin.freckles": 0.6}),
    **_nouns("moles", "moles|mole|beauty mark|beauty spot", {"skin.moles": 0.4}),
    **_nouns("wrinkles", "wrinkles|wrinkled|wrinkly|lines|crow's feet", {"skin.wrinkles": 0.6}),
    **_nouns("wrinkles", "laugh lines|fine lines|smile lines", {"skin.wrinkles": 0.3}),
    **_nouns("blemishes", "acne|pimples|blemishes|spots|pimply|spotty|zits", {"skin.blemishes": 0.6}),
    **_nouns("blemishes", "age spots|liver spots|sun spots|sunspots", {"skin.blemishes": 0.4}),
    **_nouns("blemishes", "pockmarked|pock marked|pockmarks|acne scars", {"skin.blemishes": 0.5, "skin.scars": 0.3}),
    **_nouns("scars", "scars|scar|scarred|scarring|battle scarred|battle scars", {"skin.scars": 0.5}),
    # redness names the part it is on, so "a big red nose" is still a big nose
    **_nouns("rosacea", "rosacea|broken capillaries", {"skin.rosacea": 0.6}),
    **_nouns("cheekbones", "rosy cheeks|red cheeks|ruddy cheeks|flushed cheeks|pink cheeks", {"skin.rosacea": 0.5}),
    **_nouns("skin", "rosy complexion|ruddy complexion|ruddy skin", {"skin.rosacea": 0.5}),
    **_nouns("nose", "red nose|ruddy nose|bulbous red nose", {"skin.rosacea": 0.5}),
    # make-up
    **_nouns("makeup", "makeup|make up|cosmetics", {"makeup.blush": 0.3, "makeup.eyeliner": True}),
    **_nouns("lipstick", "lipstick|lip gloss|lipgloss|lip colour|lip color", {"makeup.lipstick_color": "red"}),
    **_nouns("eyeshadow", "eyeshadow|eye shadow", {"makeup.eyeshadow_color": "brown"}),
    **_nouns("eyeliner", "eyeliner|eye liner|mascara|winged liner", {"makeup.eyeliner": True}),
    **_nouns("blush", "blush|blusher|rouge", {"makeup.blush": 0.5}),
    # hair styles: every style's aliases are added from the style library below
    **_nouns("bangs", "bangs|fringe", {"hair.bangs": "fringe"}),
    **_nouns("part", "side part|side parting", {"hair.part": "left"}),
    **_nouns("part", "middle part|center part|centre part|middle parting|centre parting|center parting",
             {"hair.part": "center"}),
    **_nouns("part", "part|parting"),
    # facial hair
    **_nouns("beard", "beard|bearded|facial hair", {"facial_hair.type": "full_beard"}),
    # "mustache" class: a named kind of facial hair; adjectives on it say how thick or long it is and
    # never change the kind ("thin moustache" stays a moustache, "thick stubble" stays stubble)
    **_nouns("mustache", "stubble|five o'clock shadow|stubbled|designer stubble", {"facial_hair.type": "stubble"}),
    **_nouns("mustache", "mustache|moustache|mustached|moustached|handlebar mustache|handlebar moustache|"
             "mustaches|moustaches|tache|stache|horseshoe mustache|horseshoe moustache",
             {"facial_hair.type": "mustache"}),
    **_nouns("mustache", "pencil mustache|pencil moustache|pencil thin mustache|pencil thin moustache",
             {"facial_hair.type": "mustache", "facial_hair.density": 0.2}),
    **_nouns("mustache", "walrus mustache|walrus moustache",
             {"facial_hair.type": "mustache", "facial_hair.density": 0.95}),
    **_nouns("mustache", "goatee|van dyke|chin beard", {"facial_hair.type": "goatee"}),
    **_nouns("beard", "sideburns|mutton chops", {"facial_hair.type": "short_beard"}),
    # eyewear and headwear
    **_nouns("glasses", "glasses|spectacles|eyeglasses|specs|bifocals|horn rimmed glasses",
             {"glasses": "rectangular"}),
    **_nouns("glasses", "reading glasses|half moon glasses", {"glasses": "reading"}),
    **_nouns("glasses", "wire rimmed glasses|round glasses|granny glasses", {"glasses": "round"}),
    **_nouns("glasses", "aviators|aviator glasses|aviator sunglasses", {"glasses": "aviator"}),
    **_nouns("glasses", "sunglasses|shades|sunnies", {"glasses": "sunglasses"}),
    **_nouns("glasses", "cat eye glasses|cat eye frames|cat eye spectacles|cat eye sunglasses|cat eyed glasses",
             {"glasses": "cat_eye"}),
    # a beanie fits close with no cuff; the wool cap is the cuffed fisherman's watch cap
    **_nouns("headwear", "beanie|toque|tuque|knit hat|knitted hat|knit cap|knitted cap|woolly hat|wool hat|"
             "bobble hat|ski hat|slouchy beanie", {"headwear": "beanie"}),
    **_nouns("headwear", "wool cap|watch cap|fisherman's cap|fisherman's beanie|knit cap with a cuff|"
             "beanie with a cuff|cuffed beanie|cuffed knit cap|docker hat|docker cap", {"headwear": "wool_cap"}),
    **_nouns("headwear", "baseball cap|cap|trucker cap|ball cap|snapback", {"headwear": "baseball_cap"}),
    **_nouns("headwear", "hat|fedora|trilby|panama hat|cowboy hat|top hat|bowler hat", {"headwear": "fedora"}),
    **_nouns("headwear", "beret", {"headwear": "beret"}),
    **_nouns("headwear", "headscarf|head scarf|hijab|bandana|headwrap|head wrap|turban|kerchief",
             {"headwear": "headscarf"}),
    **_nouns("headwear", "hood|hooded cloak", {"headwear": "hood"}),
    **_nouns("headwear", "headwear|headgear"),
    # garments; pattern words in front of a garment set its pattern ("plaid shirt"), see ADJECTIVES
    **_nouns("top", "t shirt|tshirt|tee|tee shirt", {"garments.top": "t_shirt"}),
    **_nouns("top", "shirt|button up shirt|button down shirt|polo shirt|polo|dress shirt", {"garments.top": "shirt"}),
    **_nouns("top", "sweater|jumper|pullover|cardigan|knit sweater|turtleneck|fisherman sweater|polo neck|roll neck",
             {"garments.top": "sweater"}),
    **_nouns("top", "hoodie|hooded sweatshirt|sweatshirt|hoody", {"garments.top": "hoodie"}),
    **_nouns("outerwear", "jacket|bomber jacket|windbreaker|anorak|rain jacket|puffer jacket|puffy jacket|"
             "down jacket|track jacket|varsity jacket|biker jacket|motorcycle jacket|field jacket",
             {"garments.outerwear": "jacket"}),
    **_nouns("outerwear", "leather jacket", {"garments.outerwear": "jacket", "garments.outerwear_pattern": "leather"}),
    **_nouns("outerwear", "denim jacket|jean jacket", {"garments.outerwear": "jacket", "garments.outerwear_pattern": "denim"}),
    **_nouns("outerwear", "coat|overcoat|trench coat|trench|raincoat|parka|peacoat|pea coat|oilskin|duffle coat|"
             "duffel coat|topcoat|puffer coat|winter coat", {"garments.outerwear": "coat"}),
    **_nouns("outerwear", "blazer|suit jacket|sport coat|sports jacket|dinner jacket", {"garments.outerwear": "suit_jacket"}),
    # a suit or tuxedo also implies a shirt and trousers (NOUN_IMPLIES)
    **_nouns("outerwear", "suit|tuxedo|tux|business suit|three piece suit|pantsuit|trouser suit",
             {"garments.outerwear": "suit_jacket"}),
    **_nouns("outerwear", "tracksuit|track suit", {"garments.outerwear": "jacket"}),
    **_nouns("outerwear", "outerwear"),
    **_nouns("top", "dress|gown|sundress|evening gown", {"garments.top": "dress", "garments.bottom": "none"}),
    **_nouns("top", "tank top|vest top|singlet|camisole", {"garments.top": "tank_top"}),
    **_nouns("top", "blouse|tunic", {"garments.top": "blouse"}),
    **_nouns("top", "top|clothes|outfit|clothing"),
    **_nouns("bottom", "jeans|denims", {"garments.bottom": "jeans"}),
    **_nouns("bottom", "trousers|pants|slacks|chinos|khakis|cargo pants|sweatpants", {"garments.bottom": "trousers"}),
    **_nouns("bottom", "joggers|jogging bottoms|trackies|track pants|tracksuit bottoms|capris|capri pants",
             {"garments.bottom": "trousers"}),
    **_nouns("bottom", "shorts|hot pants", {"garments.bottom": "shorts"}),
    **_nouns("bottom", "skirt|miniskirt|kilt|sarong", {"garments.bottom": "skirt"}),
    **_nouns("shoes", "sneakers|trainers|running shoes|tennis shoes|high tops|hightops", {"garments.shoes": "sneakers"}),
    **_nouns("shoes", "boots|boot|rubber boots|wellingtons|wellies|work boots", {"garments.shoes": "boots"}),
    **_nouns("shoes", "dress shoes|loafers|oxfords|brogues", {"garments.shoes": "dress_shoes"}),
    **_nouns("shoes", "sandals|flip flops", {"garments.shoes": "sandals"}),
    **_nouns("shoes", "heels|high heels|stilettos|pumps", {"garments.shoes": "heels"}),
    **_nouns("shoes", "shoes|footwear"),
    # accessories (each adds itself to the list)
    **_nouns("accessory", "earrings|earring|hoops|studs", {"accessories": "earrings"}),
    **_nouns("accessory", "necklace|pendant|chain|choker|pearls", {"accessories": "necklace"}),
    **_nouns("accessory", "scarf|shawl", {"accessories": "scarf"}),
    **_nouns("accessory", "watch|wristwatch", {"accessories": "watch"}),
    **_nouns("accessory", "bracelet|bangle", {"accessories": "bracelet"}),
    **_nouns("accessory", "tie|necktie|bow tie|bowtie", {"accessories": "tie"}),
    **_nouns("accessory", "backpack|rucksack", {"accessories": "backpack"}),
}

#: What a negated noun of each class means ("no glasses", "without a beard").
NEGATED_CLASS: dict[str, Sets] = {
    "glasses": {"glasses": "none"},
    "beard": {"facial_hair.type": "none"},
    "mustache": {"facial_hair.type": "none"},
    "dimples": {"face.dimples": 0.0},
    "cleft": {"face.cleft_chin": 0.0},
    "double_chin": {"face.double_chin": 0.0},
    "scars": {"skin.scars": 0.0},
    "rosacea": {"skin.rosacea": 0.0},
    "highlights": {"hair.highlights": "none"},
    "headwear": {"headwear": "none"},
    "freckles": {"skin.freckles": 0.0},
    "moles": {"skin.moles": 0.0},
    "wrinkles": {"skin.wrinkles": 0.0},
    "blemishes": {"skin.blemishes": 0.0},
    "makeup": {"makeup.lipstick_color": "none", "makeup.eyeshadow_color": "none", "makeup.blush": 0.0,
               "makeup.eyeliner": False},
    "lipstick": {"makeup.lipstick_color": "none"},
    "eyeshadow": {"makeup.eyeshadow_color": "none"},
    "eyeliner": {"makeup.eyeliner": False},
    "blush": {"makeup.blush": 0.0},
    "bangs": {"hair.bangs": "none"},
    "hair": {"hair.style": "bald"},
    "shoes": {"garments.shoes": "barefoot"},
    "bottom": {"garments.bottom": "none"},
    "outerwear": {"garments.outerwear": "none"},
}

#: What a noun implies beyond what it names, taken only where the prompt says nothing else
#: ("a suit" is worn with a shirt and trousers; "a suit and a black t-shirt" keeps the t-shirt).
NOUN_IMPLIES: dict[str, Sets] = {
    **{w: {"garments.top": "shirt", "garments.bottom": "trousers"} for w in (
        "suit", "tuxedo", "tux", "business suit", "three piece suit", "pantsuit", "trouser suit")},
    "tracksuit": {"garments.bottom": "trousers"}, "track suit": {"garments.bottom": "trousers"},
    # said of children and teenagers far more than of adults ("a little girl", "a girl in her
    # twenties" and "an old boy" say otherwise, and win)
    "girl": {"body.age_years": 13.0}, "boy": {"body.age_years": 13.0},
}

#: Noun class -> the attribute a colour word on it sets.
COLOR_SLOTS: dict[str, str] = {
    "hair": "hair.color", "eyes": "eyes.iris_color", "brows": "eyebrows.color",
    "beard": "facial_hair.color", "mustache": "facial_hair.color", "highlights": "hair.highlights",
    "lipstick": "makeup.lipstick_color", "lips": "makeup.lipstick_color",
    "eyeshadow": "makeup.eyeshadow_color", "top": "garments.top_color",
    "bottom": "garments.bottom_color", "shoes": "garments.shoes_color",
    "outerwear": "garments.outerwear_color", "headwear": "headwear_color",
}

# --- adjectives: word -> {noun class: values}; "*" when it binds to nothing it describes ---

def _patterned(pattern: str, classes: str = "top bottom outerwear", alone: Sets | None = None) -> dict[str, Sets]:
    """A fabric word's readings: the pattern of the garment it binds to; ``alone`` when it binds to
    nothing it describes (None: no such reading, so a colour word reads as a colour)."""
    readings = {cls: {f"garments.{cls}_pattern": pattern} for cls in classes.split()}
    return readings | ({"*": alone} if alone is not None else {})


ADJECTIVES: dict[str, dict[str, Sets]] = {
    # age
    "young": {"*": {"body.age_years": 24.0}},
    "youthful": {"*": {"body.age_years": 24.0}},
    "teenage": {"*": {"body.age_years": 16.0}},
    "little": {"person": {"body.age_years": 7.0}, "scars": {"skin.scars": 0.3}, "*": {}},
    "little old": {"*": {"body.age_years": 75.0, "body.height": -0.4}},  # "a little old lady" is not a child
    "middle aged": {"*": {"body.age_years": 48.0}},
    "middle age": {"*": {"body.age_years": 48.0}},
    "mature": {"*": {"body.age_years": 52.0}},
    "older": {"*": {"body.age_years": 60.0}},
    "old": {"*": {"body.age_years": 70.0}},
    "aged": {"*": {"body.age_years": 72.0}},
    "elderly": {"*": {"body.age_years": 78.0}},
    "ancient": {"*": {"body.age_years": 90.0}},
    "retired": {"*": {"body.age_years": 67.0}},
    "aging": {"*": {"body.age_years": 60.0}},
    "ageing": {"*": {"body.age_years": 60.0}},
    "oldish": {"*": {"body.age_years": 58.0}},
    # stature and build
    "tall": {"*": {"body.height": 0.5}},
    "towering": {"*": {"body.height": 0.9}},
    "lanky": {"*": {"body.height": 0.5, "body.weight": -0.4}},
    "gangly": {"*": {"body.height": 0.5, "body.weight": -0.4}},
    "short": {
        "hair": {"hair.style": "short"}, "beard": {"facial_hair.type": "short_beard", "facial_hair.length_cm": 1.0},
        "mustache": {"facial_hair.length_cm": 0.8}, "nose": {"nose.size": -0.4}, "forehead": {"face.forehead": -0.5},
        "*": {"body.height": -0.5},
    },
    "tiny": {"eyes": {"eyes.size": -0.7}, "nose": {"nose.size": -0.7}, "ears": {"face.ear_size": -0.7},
             "mouth": {"lips.width": -0.6}, "*": {"body.height": -0.8}},
    "small": {"eyes": {"eyes.size": -0.5}, "nose": {"nose.size": -0.5}, "ears": {"face.ear_size": -0.5},
              "scars": {"skin.scars": 0.3}, "mustache": {"facial_hair.density": 0.4},
              "chin": {"face.chin": -0.5}, "mouth": {"lips.width": -0.5}, "lips": {"lips.fullness": -0.4},
              "forehead": {"face.forehead": -0.5}, "person": {"body.height": -0.5}},
    "big": {"eyes": {"eyes.size": 0.6}, "nose": {"nose.size": 0.6}, "ears": {"face.ear_size": 0.6},
            "chin": {"face.chin": 0.5}, "mouth": {"lips.width": 0.5}, "lips": {"lips.fullness": 0.5},
            "forehead": {"face.forehead": 0.5}, "beard": {"facial_hair.type": "full_beard", "facial_hair.density": 0.8},
            "mustache": {"facial_hair.density": 0.8}, "scars": {"skin.scars": 0.7},
            "hair": {"hair.curl": 0.6, "hair.volume": 0.8},
            "person": {"body.height": 0.4, "body.weight": 0.4}, "body": {"body.weight": 0.4}},
    "large": {"eyes": {"eyes.size": 0.6}, "nose": {"nose.size": 0.6}, "ears": {"face.ear_size": 0.6},
              "chin": {"face.chin": 0.5}, "mouth": {"lips.width": 0.5}, "forehead": {"face.forehead": 0.5},
              "person": {"body.height": 0.3, "body.weight": 0.5}, "body": {"body.weight": 0.5}},
    "huge": {"eyes": {"eyes.size": 0.9}, "nose": {"nose.size": 0.9}, "ears": {"face.ear_size": 0.9},
             "person": {"body.height": 0.7, "body.weight": 0.7}},
    "giant": {"*": {"body.height": 1.0}},
    "thin": {"brows": {"eyebrows.type": "thin", "eyebrows.thickness": -0.6}, "lips": {"lips.fullness": -0.6},
             "nose": {"nose.width": -0.5}, "face": {"face.shape": "long"}, "beard": {"facial_hair.density": 0.3},
             "mustache": {"facial_hair.density": 0.25},
             "hair": {"hair.density": 0.35}, "*": {"body.weight": -0.5}},
    "slim": {"nose": {"nose.width": -0.5}, "face": {"face.shape": "oval"}, "*": {"body.weight": -0.4}},
    "slender": {"nose": {"nose.width": -0.5}, "*": {"body.weight": -0.4}},
    "skinny": {"*": {"body.weight": -0.7}},
    "lean": {"*": {"body.weight": -0.3, "body.muscle": 0.2}},
    "gaunt": {"*": {"body.weight": -0.8}},
    "frail": {"*": {"body.weight": -0.4, "body.muscle": -0.6}},
    "weak": {"chin": {"face.chin": -0.6}, "jaw": {"face.jaw_width": -0.5}, "*": {"body.muscle": -0.5}},
    "fat": {"*": {"body.weight": 0.7}},
    "portly": {"*": {"body.weight": 0.6}},
    "rotund": {"*": {"body.weight": 0.8}},
    "stout": {"*": {"body.weight": 0.5, "body.height": -0.2}},
    "hefty": {"*": {"body.weight": 0.6}},
    "beefy": {"*": {"body.weight": 0.4, "body.muscle": 0.6}},
    "scrawny": {"*": {"body.weight": -0.7, "body.muscle": -0.5}},
    "svelte": {"*": {"body.weight": -0.4}},
    "willowy": {"*": {"body.weight": -0.5, "body.height": 0.3}},
    "statuesque": {"*": {"body.height": 0.6}},
    "overweight": {"*": {"body.weight": 0.6}},
    "obese": {"*": {"body.weight": 0.9}},
    "heavy": {"brows": {"eyebrows.thickness": 0.6}, "beard": {"facial_hair.density": 0.9},
              "mustache": {"facial_hair.density": 0.85}, "*": {"body.weight": 0.6}},
    "heavy lidded": {"*": {"eyes.shape": "hooded"}},
    "heavyset": {"*": {"body.weight": 0.6, "body.muscle": 0.2}},
    "plump": {"lips": {"lips.fullness": 0.6}, "*": {"body.weight": 0.5}},
    "curvy": {"*": {"body.weight": 0.3}},
    "stocky": {"*": {"body.weight": 0.4, "body.muscle": 0.3, "body.height": -0.2}},
    "thickset": {"*": {"body.weight": 0.5, "body.muscle": 0.3}},
    "petite": {"*": {"body.height": -0.5, "body.weight": -0.3}},
    "dainty": {"*": {"body.height": -0.4, "body.weight": -0.3}},
    "pudgy": {"*": {"body.weight": 0.5}},
    "tubby": {"*": {"body.weight": 0.6}},
    "underweight": {"*": {"body.weight": -0.7}},
    "plus size": {"*": {"body.weight": 0.7}},
    "plus sized": {"*": {"body.weight": 0.7}},
    "big boned": {"*": {"body.weight": 0.5}},
    "pot bellied": {"*": {"body.weight": 0.6}},
    "potbellied": {"*": {"body.weight": 0.6}},
    "bony": {"*": {"body.weight": -0.6}},
    "wiry": {"*": {"body.weight": -0.4, "body.muscle": 0.3}},
    "ripped": {"*": {"body.muscle": 0.9}},
    "jacked": {"*": {"body.muscle": 0.9}},
    "hulking": {"*": {"body.height": 0.6, "body.muscle": 0.7, "body.weight": 0.5}},
    "bulky": {"*": {"body.muscle": 0.5, "body.weight": 0.5}},
    "broad shouldered": {"*": {"body.muscle": 0.5, "body.weight": 0.2}},
    "muscular": {"*": {"body.muscle": 0.7}},
    "athletic": {"*": {"body.muscle": 0.4, "body.weight": -0.1}},
    "sporty": {"*": {"body.muscle": 0.4, "body.weight": -0.1}},
    "fit": {"*": {"body.muscle": 0.3, "body.weight": -0.1}},
    "toned": {"skin": {}, "*": {"body.muscle": 0.3}},
    "buff": {"*": {"body.muscle": 0.8}},
    "brawny": {"*": {"body.muscle": 0.8, "body.weight": 0.2}},
    "burly": {"*": {"body.muscle": 0.6, "body.weight": 0.4}},
    "strong": {"jaw": {"face.jaw_width": 0.6}, "chin": {"face.chin": 0.6}, "nose": {"nose.size": 0.4},
               "face": {"face.jaw_width": 0.4, "face.masculinity": 0.4}, "*": {"body.muscle": 0.6}},
    "average": {"*": {}},
    "medium": {"skin": {"skin.tone_ita_deg": 34.0}, "hair": {"hair.style": "shoulder_straight", "hair.length_cm": 25.0},
               "body": {"body.weight": 0.0, "body.muscle": 0.0}},
    # masculinity of the face (-1 feminine .. +1 masculine), apart from the gender
    "feminine": {"jaw": {"face.jaw_width": -0.4, "face.masculinity": -0.4}, "*": {"face.masculinity": -0.6}},
    "womanly": {"*": {"face.masculinity": -0.6}},
    "girly": {"*": {"face.masculinity": -0.7}},
    "girlish": {"*": {"face.masculinity": -0.7}},
    "effeminate": {"*": {"face.masculinity": -0.5}},
    "delicate": {"nose": {"nose.size": -0.4, "nose.width": -0.3}, "*": {"face.masculinity": -0.5}},
    "soft": {"face": {"face.masculinity": -0.3}, "jaw": {"face.jaw_width": -0.3}, "chin": {"face.chin": -0.2},
             "*": {}},
    "masculine": {"jaw": {"face.jaw_width": 0.6, "face.masculinity": 0.4}, "*": {"face.masculinity": 0.6}},
    "manly": {"*": {"face.masculinity": 0.7}},
    "butch": {"*": {"face.masculinity": 0.6}},
    "tomboyish": {"*": {"face.masculinity": 0.3}},
    "rugged": {"*": {"face.masculinity": 0.6, "face.jaw_width": 0.4}},
    "androgynous": {"*": {"face.masculinity": 0.0}},
    "androgyne": {"*": {"face.masculinity": 0.0}},
    "gender neutral": {"*": {"face.masculinity": 0.0}},
    "non binary": {"*": {"face.masculinity": 0.0}},
    "nonbinary": {"*": {"face.masculinity": 0.0}},
    # face
    "oval": {"*": {"face.shape": "oval"}},
    "round": {"face": {"face.shape": "round"}, "eyes": {"eyes.shape": "round"}, "glasses": {"glasses": "round"},
              "chin": {"face.chin": -0.2}, "*": {"face.shape": "round"}},
    "square": {"face": {"face.shape": "square"}, "jaw": {"face.jaw_width": 0.7, "face.shape": "square"},
               "chin": {"face.chin": 0.4}, "glasses": {"glasses": "rectangular"}, "*": {"face.shape": "square"}},
    "rectangular": {"glasses": {"glasses": "rectangular"}, "face": {"face.shape": "long"}},
    "heart shaped": {"*": {"face.shape": "heart"}},
    "diamond shaped": {"*": {"face.shape": "diamond"}},
    "long": {"hair": {"hair.style": "long_straight"}, "beard": {"facial_hair.type": "long_beard"},
             "mustache": {"facial_hair.length_cm": 3.0},
             "face": {"face.shape": "long"}, "nose": {"nose.size": 0.5}},
    "shoulder length": {"*": {"hair.style": "shoulder_straight"}},
    "medium length": {"*": {"hair.style": "shoulder_straight", "hair.length_cm": 25.0}},
    "chin length": {"*": {"hair.style": "bob"}},
    "waist length": {"*": {"hair.style": "very_long", "hair.length_cm": 75.0}},
    "cropped": {"*": {"hair.style": "short", "hair.length_cm": 3.0}},
    "chiseled": {"*": {"face.jaw_width": 0.6, "face.cheekbones": 0.5}},
    "chiselled": {"*": {"face.jaw_width": 0.6, "face.cheekbones": 0.5}},
    "angular": {"*": {"face.jaw_width": 0.5, "face.cheekbones": 0.5, "face.shape": "diamond"}},
    "pointed": {"chin": {"face.chin": 0.4}, "nose": {"nose.bridge": 0.4}, "ears": {"face.ear_protrusion": 0.3},
                "*": {"face.chin": 0.4}},
    "pointy": {"chin": {"face.chin": 0.4}, "nose": {"nose.bridge": 0.4}, "*": {"face.chin": 0.4}},
    "receding": {"chin": {"face.chin": -0.7}, "hair": {"hair.hairline": "receding"}, "*": {"face.chin": -0.7}},
    "prominent": {"chin": {"face.chin": 0.7}, "cheekbones": {"face.cheekbones": 0.7}, "nose": {"nose.size": 0.5},
                  "forehead": {"face.forehead": 0.6}, "jaw": {"face.jaw_width": 0.6}, "ears": {"face.ear_protrusion": 0.5}},
    "high": {"cheekbones": {"face.cheekbones": 0.7}, "forehead": {"face.forehead": 0.6}, "nose": {"nose.bridge": 0.6}},
    "low": {"forehead": {"face.forehead": -0.6}, "nose": {"nose.bridge": -0.5}, "cheekbones": {"face.cheekbones": -0.5}},
    "flat": {"nose": {"nose.bridge": -0.6}, "cheekbones": {"face.cheekbones": -0.6}, "*": {}},
    "wide": {"nose": {"nose.width": 0.6}, "jaw": {"face.jaw_width": 0.6}, "mouth": {"lips.width": 0.6},
             "lips": {"lips.width": 0.5}, "face": {"face.shape": "round"}, "eyes": {"eyes.size": 0.4},
             "forehead": {"face.forehead": 0.4}},
    "broad": {"nose": {"nose.width": 0.6}, "jaw": {"face.jaw_width": 0.6}, "face": {"face.shape": "square"},
              "forehead": {"face.forehead": 0.4}, "person": {"body.muscle": 0.3, "body.weight": 0.2},
              "body": {"body.muscle": 0.3, "body.weight": 0.2}},
    "narrow": {"nose": {"nose.width": -0.6}, "jaw": {"face.jaw_width": -0.6}, "face": {"face.shape": "long"},
               "eyes": {"eyes.size": -0.4}, "mouth": {"lips.width": -0.5}, "lips": {"lips.width": -0.5}},
    "close set": {"*": {"eyes.spacing": -0.6}},
    "wide set": {"*": {"eyes.spacing": 0.6}},
    "widely spaced": {"*": {"eyes.spacing": 0.6}},
    "protruding": {"ears": {"face.ear_protrusion": 0.7}, "chin": {"face.chin": 0.6}},
    "sticking out": {"*": {"face.ear_protrusion": 0.7}},
    "stick out": {"ears": {"face.ear_protrusion": 0.7}},
    "sticks out": {"ears": {"face.ear_protrusion": 0.7}},
    "jug": {"ears": {"face.ear_protrusion": 0.8, "face.ear_size": 0.4}},
    "double": {"chin": {"face.double_chin": 0.7, "body.weight": 0.3}},
    "dimpled": {"chin": {"face.cleft_chin": 0.5}, "*": {"face.dimples": 0.6}},
    "cleft": {"chin": {"face.cleft_chin": 0.6}},
    "sharp": {"jaw": {"face.jaw_width": 0.6}, "cheekbones": {"face.cheekbones": 0.6}, "chin": {"face.chin": 0.4},
              "nose": {"nose.bridge": 0.4}, "face": {"face.cheekbones": 0.5, "face.jaw_width": 0.4}, "*": {}},
    "defined": {"jaw": {"face.jaw_width": 0.6}, "cheekbones": {"face.cheekbones": 0.6}, "*": {}},
    "chubby": {"cheekbones": {"face.shape": "round", "face.cheekbones": -0.3},
               "face": {"face.shape": "round", "body.weight": 0.4},
               "*": {"body.weight": 0.5}},
    "hollow": {"cheekbones": {"face.cheekbones": 0.6, "body.weight": -0.4}},
    "sunken": {"cheekbones": {"face.cheekbones": 0.6, "body.weight": -0.4}, "eyes": {"eyes.shape": "hooded"}},
    # eyes
    "almond": {"*": {"eyes.shape": "almond"}},
    "almond shaped": {"*": {"eyes.shape": "almond"}},
    "hooded": {"eyes": {"eyes.shape": "hooded"}, "*": {"headwear": "hood"}},
    "monolid": {"*": {"eyes.shape": "monolid"}},
    "downturned": {"*": {"eyes.shape": "downturned"}},
    "upturned": {"nose": {"nose.bridge": -0.3, "nose.size": -0.2}, "*": {"eyes.shape": "upturned"}},
    "cat": {"eyes": {"eyes.shape": "upturned"}},
    "cat like": {"*": {"eyes.shape": "upturned"}},
    "catlike": {"*": {"eyes.shape": "upturned"}},
    "slanted": {"*": {"eyes.shape": "upturned"}},
    "droopy": {"eyes": {"eyes.shape": "downturned"}, "*": {}},
    "doe": {"eyes": {"eyes.size": 0.6, "eyes.shape": "round"}},
    "doe eyed": {"*": {"eyes.size": 0.6, "eyes.shape": "round"}},
    "bug eyed": {"*": {"eyes.size": 0.8}},
    "beady": {"eyes": {"eyes.size": -0.6}},
    "deep set": {"*": {"eyes.shape": "hooded"}},
    "sleepy": {"eyes": {"eyes.shape": "hooded"}},
    "bright": {"*": {}},
    # eyebrows
    "arched": {"*": {"eyebrows.type": "arched"}},
    "straight": {"brows": {"eyebrows.type": "straight"}, "hair": {"hair.curl": 0.0}, "nose": {"nose.bridge": 0.2},
                 "*": {"hair.curl": 0.0}},
    "rounded": {"brows": {"eyebrows.type": "rounded"}, "face": {"face.shape": "round"}},
    "bushy": {"brows": {"eyebrows.type": "bushy", "eyebrows.thickness": 0.8},
              "beard": {"facial_hair.type": "full_beard", "facial_hair.density": 0.9},
              "mustache": {"facial_hair.density": 0.9}, "hair": {"hair.curl": 0.6}},
    "thick": {"brows": {"eyebrows.type": "thick", "eyebrows.thickness": 0.6}, "lips": {"lips.fullness": 0.6},
              "beard": {"facial_hair.type": "full_beard", "facial_hair.density": 0.85},
              "mustache": {"facial_hair.density": 0.85}, "hair": {"hair.density": 0.95}, "*": {"body.weight": 0.4}},
    "full": {"lips": {"lips.fullness": 0.7}, "beard": {"facial_hair.type": "full_beard", "facial_hair.density": 0.8},
             "mustache": {"facial_hair.density": 0.8}, "brows": {"eyebrows.thickness": 0.5},
             "cheekbones": {"face.shape": "round"}, "*": {}},
    "dense": {"beard": {"facial_hair.density": 0.9}, "mustache": {"facial_hair.density": 0.9},
              "hair": {"hair.density": 0.9}, "brows": {"eyebrows.thickness": 0.6}},
    "patchy": {"beard": {"facial_hair.density": 0.3}, "mustache": {"facial_hair.density": 0.3}},
    "sparse": {"beard": {"facial_hair.density": 0.3}, "mustache": {"facial_hair.density": 0.3},
               "brows": {"eyebrows.thickness": -0.5}, "hair": {"hair.density": 0.3}},
    "wispy": {"beard": {"facial_hair.density": 0.2}, "mustache": {"facial_hair.density": 0.2}},
    "scraggly": {"beard": {"facial_hair.density": 0.35}, "mustache": {"facial_hair.density": 0.35}},
    "pencil": {"mustache": {"facial_hair.density": 0.2}},
    "pencil thin": {"mustache": {"facial_hair.density": 0.2}},
    "walrus": {"mustache": {"facial_hair.density": 0.95}},
    "trimmed": {"beard": {"facial_hair.type": "short_beard"}, "*": {}},
    "groomed": {"beard": {"facial_hair.type": "short_beard"}, "*": {}},
    "neat": {"beard": {"facial_hair.type": "short_beard"}, "*": {}},
    "scruffy": {"beard": {"facial_hair.type": "stubble"}, "mustache": {}, "*": {"facial_hair.type": "stubble"}},
    "unshaven": {"*": {"facial_hair.type": "stubble"}},
    "thinning": {"hair": {"hair.density": 0.3, "hair.hairline": "receding"}},
    "balding": {"*": {"hair.style": "receding", "hair.density": 0.35}},
    # nose
    "button": {"nose": {"nose.size": -0.6, "nose.bridge": -0.3}},
    "hooked": {"nose": {"nose.bridge": 0.8, "nose.size": 0.3}},
    "aquiline": {"*": {"nose.bridge": 0.8, "nose.size": 0.2}},
    "roman": {"nose": {"nose.bridge": 0.7, "nose.size": 0.3}},
    "crooked": {"nose": {"nose.bridge": 0.3}},
    "broken": {"nose": {"nose.bridge": 0.3}},
    "snub": {"*": {"nose.bridge": -0.5, "nose.size": -0.3}},
    "bulbous": {"nose": {"nose.size": 0.7, "nose.width": 0.5}},
    "hawk": {"nose": {"nose.bridge": 0.7, "nose.size": 0.3}},
    "hawkish": {"nose": {"nose.bridge": 0.7, "nose.size": 0.3}},
    "beaked": {"nose": {"nose.bridge": 0.7, "nose.size": 0.4}},
    # lips
    "pouty": {"*": {"lips.fullness": 0.6}},
    "plush": {"lips": {"lips.fullness": 0.6}},
    "luscious": {"lips": {"lips.fullness": 0.6}},
    # skin
    "pale": {"skin": {"skin.tone_ita_deg": 58.0}, "eyes": {"eyes.iris_color": "light_blue"},
             "*": {"skin.tone_ita_deg": 58.0}},
    "porcelain": {"*": {"skin.tone_ita_deg": 62.0}},
    "fair": {"hair": {"hair.color": "blonde"}, "*": {"skin.tone_ita_deg": 50.0}},
    "light": {"skin": {"skin.tone_ita_deg": 48.0}, "person": {"skin.tone_ita_deg": 48.0},
              "mustache": {"facial_hair.density": 0.4},
              "hair": {"hair.color": "light_brown"}, "eyes": {"eyes.iris_color": "light_blue"},
              "freckles": {"skin.freckles": 0.3}, "makeup": {"makeup.blush": 0.15},
              "beard": {"facial_hair.type": "stubble"}, "*": {}},
    "olive": {"skin": {"skin.tone_ita_deg": 32.0}, "person": {"skin.tone_ita_deg": 32.0}},
    "tan": {"skin": {"skin.tone_ita_deg": 19.0}, "person": {"skin.tone_ita_deg": 19.0}},
    "tanned": {"*": {"skin.tone_ita_deg": 19.0}},
    "sun tanned": {"*": {"skin.tone_ita_deg": 15.0}},
    "weathered": {"*": {"skin.wrinkles": 0.6, "skin.tone_ita_deg": 25.0}},
    "dark": {"skin": {"skin.tone_ita_deg": -45.0}, "person": {"skin.tone_ita_deg": -40.0},
             "hair": {"hair.color": "black"}, "eyes": {"eyes.iris_color": "dark_brown"},
             "brows": {"eyebrows.color": "black"}, "beard": {"facial_hair.color": "black"},
             "mustache": {"facial_hair.color": "black"},
             "lipstick": {"makeup.lipstick_color": "burgundy"}, "*": {}},
    "ebony": {"*": {"skin.tone_ita_deg": -55.0}},
    "deep": {"wrinkles": {"skin.wrinkles": 0.9}, "skin": {"skin.tone_ita_deg": -50.0}, "dimples": {"face.dimples": 0.9},
             "cleft": {"face.cleft_chin": 0.9}, "scars": {"skin.scars": 0.7}, "*": {}},
    "lined": {"face": {"skin.wrinkles": 0.5}, "skin": {"skin.wrinkles": 0.5}, "*": {}},
    "ruddy": {"*": {"skin.rosacea": 0.5}},
    "rosy": {"*": {"skin.rosacea": 0.4}},
    "flushed": {"*": {"skin.rosacea": 0.5}},
    "blotchy": {"*": {"skin.rosacea": 0.4, "skin.blemishes": 0.3}},
    "smooth": {"skin": {"skin.wrinkles": 0.0, "skin.blemishes": 0.0}, "face": {"skin.wrinkles": 0.0},
               "*": {}},
    "clear": {"skin": {"skin.blemishes": 0.0}, "*": {}},
    "many": {"freckles": {"skin.freckles": 0.8}, "moles": {"skin.moles": 0.7}, "scars": {"skin.scars": 0.8}, "*": {}},
    "few": {"freckles": {"skin.freckles": 0.3}, "moles": {"skin.moles": 0.2}, "wrinkles": {"skin.wrinkles": 0.3},
            "scars": {"skin.scars": 0.3},
            "*": {}},
    "heavy makeup": {"*": {"makeup.blush": 0.6, "makeup.eyeliner": True, "makeup.lipstick_color": "red",
                           "makeup.eyeshadow_color": "charcoal"}},
    "winged": {"eyeliner": {"makeup.eyeliner": True}, "*": {}},
    # hair texture
    "curly": {"*": {"hair.curl": 0.8}},
    "wavy": {"*": {"hair.curl": 0.5}},
    "kinky": {"*": {"hair.curl": 1.0}},
    "coily": {"*": {"hair.curl": 1.0}},
    "tightly coiled": {"*": {"hair.curl": 1.0}},
    "frizzy": {"*": {"hair.curl": 0.7}},
    "permed": {"*": {"hair.curl": 0.7}},
    "bald": {"*": {"hair.style": "bald"}},
    "shaved": {"hair": {"hair.style": "shaved"}, "*": {}},
    "slicked back": {"*": {"hair.style": "slicked_back"}},
    "messy": {"*": {}},
    "braided": {"*": {"hair.style": "braid"}},
    "parted": {"*": {}},
    "left": {"part": {"hair.part": "left"}},
    "right": {"part": {"hair.part": "right"}},
    "middle": {"part": {"hair.part": "center"}},
    "center": {"part": {"hair.part": "center"}},
    "centre": {"part": {"hair.part": "center"}},
    "side": {"part": {"hair.part": "left"}},
    "clean": {"*": {}},
    # fabric patterns: they describe the garment they bind to ("a plaid shirt", "striped trousers")
    **{w: _patterned("plaid", alone={}) for w in "plaid tartan checked checkered chequered check checks gingham".split()},
    # flannel alone is a plaid shirt ("a man in flannel")
    "flannel": _patterned("plaid", alone={"garments.top": "shirt", "garments.top_pattern": "plaid"}),
    **{w: _patterned("stripes", alone={}) for w in "striped stripy stripey stripes pinstriped pinstripe breton".split()},
    **{w: _patterned("knit", "top outerwear", alone={}) for w in (
        "knitted", "knit", "cable knit", "chunky knit", "woolly", "woollen", "woolen", "wool")},
    "leather": _patterned("leather", alone={}),
    "denim": _patterned("denim"),  # alone it is a colour ("in denim")
}
#: The fabric words above: a colour just before one describes the pattern ("white stripes").
PATTERN_WORDS = frozenset(w for w, readings in ADJECTIVES.items()
                          if any(k.endswith("_pattern") for sets in readings.values() for k in sets))

# --- fixed phrases: need no binding ------------------------------------------------------------

PHRASES: dict[str, Sets] = {
    "clean shaven": {"facial_hair.type": "none"},
    "clean shaved": {"facial_hair.type": "none"},
    "cleanshaven": {"facial_hair.type": "none"},
    "beardless": {"facial_hair.type": "none"},
    "shaven": {"facial_hair.type": "none"},
    "smoky eyes": {"makeup.eyeshadow_color": "charcoal", "makeup.eyeliner": True},
    "smokey eyes": {"makeup.eyeshadow_color": "charcoal", "makeup.eyeliner": True},
    "cat eye": {"makeup.eyeliner": True},
    "barefoot": {"garments.shoes": "barefoot"},
    "parted on the left": {"hair.part": "left"},
    "parted on the right": {"hair.part": "right"},
    "parted in the middle": {"hair.part": "center"},
    "african": {"body.ancestry": "african"},
    "african american": {"body.ancestry": "african"},
    "nigerian": {"body.ancestry": "african"},
    "kenyan": {"body.ancestry": "african"},
    "ethiopian": {"body.ancestry": "african"},
    "ghanaian": {"body.ancestry": "african"},
    "somali": {"body.ancestry": "african"},
    **{w: {"body.ancestry": "african"} for w in (
        "west african", "east african", "central african", "south african", "senegalese", "congolese",
        "sudanese", "ugandan", "tanzanian", "cameroonian", "eritrean", "zulu", "jamaican", "haitian",
        "afro caribbean", "black british", "african descent")},
    "asian": {"body.ancestry": "asian"},
    "east asian": {"body.ancestry": "asian"},
    "chinese": {"body.ancestry": "asian"},
    "japanese": {"body.ancestry": "asian"},
    "korean": {"body.ancestry": "asian"},
    "vietnamese": {"body.ancestry": "asian"},
    "thai": {"body.ancestry": "asian"},
    "filipino": {"body.ancestry": "asian"},
    "mongolian": {"body.ancestry": "asian"},
    **{w: {"body.ancestry": "asian"} for w in (
        "southeast asian", "south east asian", "indonesian", "malaysian", "cambodian", "taiwanese", "tibetan",
        "burmese", "laotian", "singaporean", "nepalese", "hmong")},
    # South Asian: anny's "asian" face blend is East Asian, so a South Asian face reads better as the
    # "mixed" blend with a medium-brown skin tone
    **{w: {"body.ancestry": "mixed", "skin.tone_ita_deg": 15.0} for w in (
        "indian", "south asian", "pakistani", "bangladeshi", "sri lankan", "desi", "punjabi", "tamil",
        "bengali", "nepali")},
    "caucasian": {"body.ancestry": "caucasian"},
    "european": {"body.ancestry": "caucasian"},
    "scandinavian": {"body.ancestry": "caucasian", "skin.tone_ita_deg": 55.0},
    "nordic": {"body.ancestry": "caucasian", "skin.tone_ita_deg": 55.0},
    "irish": {"body.ancestry": "caucasian", "skin.tone_ita_deg": 58.0},
    "scottish": {"body.ancestry": "caucasian", "skin.tone_ita_deg": 55.0},
    "english": {"body.ancestry": "caucasian"},
    "german": {"body.ancestry": "caucasian"},
    "french": {"body.ancestry": "caucasian"},
    "italian": {"body.ancestry": "caucasian", "skin.tone_ita_deg": 35.0},
    "spanish": {"body.ancestry": "caucasian", "skin.tone_ita_deg": 35.0},
    "greek": {"body.ancestry": "caucasian", "skin.tone_ita_deg": 33.0},
    "russian": {"body.ancestry": "caucasian"},
    **{w: {"body.ancestry": "caucasian"} for w in (
        "dutch", "polish", "ukrainian", "czech", "hungarian", "slavic", "austrian", "swiss", "belgian",
        "welsh", "finnish", "icelandic", "baltic", "eastern european", "northern european", "anglo")},
    **{w: {"body.ancestry": "caucasian", "skin.tone_ita_deg": 55.0} for w in ("swedish", "norwegian", "danish")},
    **{w: {"body.ancestry": "caucasian", "skin.tone_ita_deg": 35.0} for w in (
        "portuguese", "mediterranean", "southern european")},
    **{w: {"body.ancestry": "caucasian", "skin.tone_ita_deg": 25.0} for w in (
        "turkish", "persian", "iranian", "lebanese", "syrian", "iraqi", "egyptian", "moroccan", "armenian")},
    "middle eastern": {"body.ancestry": "caucasian", "skin.tone_ita_deg": 25.0},
    "arab": {"body.ancestry": "caucasian", "skin.tone_ita_deg": 25.0},
    "latino": {"body.ancestry": "mixed", "body.gender": "male"},
    "latina": {"body.ancestry": "mixed", "body.gender": "female"},
    "hispanic": {"body.ancestry": "mixed"},
    "mixed race": {"body.ancestry": "mixed"},
    "biracial": {"body.ancestry": "mixed"},
    "mixed": {"body.ancestry": "mixed"},
    **{w: {"body.ancestry": "mixed"} for w in (
        "multiracial", "multi racial", "mixed heritage", "mixed ethnicity", "mixed ancestry", "latinx",
        "mexican", "brazilian", "puerto rican", "cuban", "colombian", "dominican", "peruvian", "venezuelan",
        "polynesian", "samoan", "hawaiian", "pacific islander", "maori")},
    "wrinkle free": {"skin.wrinkles": 0.0},
    **{w: {"makeup.lipstick_color": "none", "makeup.eyeshadow_color": "none", "makeup.blush": 0.0,
           "makeup.eyeliner": False} for w in (
        "no makeup", "makeup free", "make up free", "bare faced", "barefaced", "fresh faced")},
    "average height": {"body.height": 0.0},
    "average build": {"body.weight": 0.0, "body.muscle": 0.0},
    "well built": {"body.muscle": 0.6},
    "big ears": {"face.ear_size": 0.6},
    "medium height": {"body.height": 0.0},
    # a tan as a thing one has ("a surfer with a tan"), not the colour of what follows
    "a tan": {"skin.tone_ita_deg": 19.0}, "suntan": {"skin.tone_ita_deg": 19.0},
    "sun tan": {"skin.tone_ita_deg": 19.0}, "deep tan": {"skin.tone_ita_deg": 5.0},
    # understood, and nothing the record holds (not dark skin, not wrinkles)
    "dark circles": {}, "eye bags": {}, "bags under her eyes": {}, "bags under his eyes": {},
    "bags under the eyes": {},
}
# "half Japanese", "half black": one parent of another ancestry
PHRASES.update({f"half {w}": {"body.ancestry": "mixed"} for w, sets in list(PHRASES.items())
                if "body.ancestry" in sets and " " not in w})
PHRASES.update({"half black": {"body.ancestry": "mixed"}, "half white": {"body.ancestry": "mixed"}})


def _style_nouns() -> dict[str, tuple[str, Sets]]:
    """Every alias of every library hairstyle as a "hair" noun ("high ponytail" -> ponytail_high).

    Words the lexicon already reads another way ("long", "curly", "wavy": adjectives that also set
    a curl or length) stay what they are; the style library refines the pick from them at resolve.
    """
    from machcreator.core.hair_styles import STYLES

    taken = set(NOUNS) | set(ADJECTIVES) | set(PHRASES) | set(COLOR_WORDS)
    out: dict[str, tuple[str, Sets]] = {}
    for style in STYLES.values():
        # a curled style says so, so an explicit "straight" can still override it
        sets: Sets = {"hair.style": style.name} | ({"hair.curl": style.curl} if style.curl > 0 else {})
        for alias in style.aliases:
            # "long curly" is "long" + "curly": composed by the binding rules, not a fixed phrase
            composed = " " in alias and all(w in ADJECTIVES or w in COLOR_WORDS for w in alias.split())
            if alias not in taken and alias not in out and not composed:
                out[alias] = ("hair", sets)
    return out


NOUNS.update(_style_nouns())
NOUNS.update({
    **_nouns("hair", "widow's peak|widows peak", {"hair.hairline": "widows_peak"}),
    **_nouns("hair", "high hairline", {"hair.hairline": "high"}),
    **_nouns("hair", "shaved sides", {"hair.hairline": "shaved_sides"}),
    **_nouns("highlights", "highlights|streaks|balayage|highlight|streak", {"hair.highlights": "blonde"}),
    # the record has no joined-brows field: the nearest is very thick, bushy brows
    **_nouns("brows", "unibrow|monobrow|uni brow|mono brow|connected eyebrows|joined eyebrows",
             {"eyebrows.type": "bushy", "eyebrows.thickness": 0.9}),
})
