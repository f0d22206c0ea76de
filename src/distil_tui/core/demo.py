"""A seeded, messy UK demo data set with its ground truth.

Why it exists: identity resolution cannot be judged on clean data, and real
customer data cannot be shipped.  :func:`generate` writes four files about a
known set of people, the way four real systems would have recorded them -- a
shop, a CRM, a newsletter tool and the website's tracking -- each with its own
spellings, formats and mistakes, plus ``truth.csv`` naming the person behind
every source record.  :mod:`distil_tui.core.evaluate` scores a resolver's
grouping against it.

The mess is the kind that decides whether a resolver is any good: case and
spaces around emails, phones in seven formats, one-letter typos, nicknames,
missing values, people with two shop accounts or two devices.  On top of it
sit *traps*, shared values that join different people if trusted blindly, each
marked in the truth file (see :data:`~distil_tui.core.evaluate.TRAP_KINDS`):
household emails, test mailboxes, placeholder phones and family computers.

Only ``random.Random(seed)`` is used and no set or hash order is ever
iterated, so the same seed and size give byte-identical files, whatever the
machine or the interpreter's hash seed.
"""

from __future__ import annotations

import csv
import json
import unicodedata
from bisect import bisect
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from random import Random

from distil_tui.core.evaluate import TRAP_KINDS, TRUTH_COLUMNS
from distil_tui.core.ingest.events import identify_record_key

HOUSEHOLD_EMAIL, TEST_MAILBOX, PLACEHOLDER_PHONE, FAMILY_COMPUTER = TRAP_KINDS

TEST_MAILBOXES: tuple[str, ...] = ("test@test.com", "test@example.com")
PLACEHOLDER_PHONES: tuple[str, ...] = ("07000000000", "01234567890", "00000000000", "07777777777")

MIN_CUSTOMERS = 100
"""Below this there are too few people to plant every trap and keep most
people out of them."""


@dataclass(frozen=True)
class DemoImport:
    """One file to import: its source name, reader format and the column that
    keys its records (``None``: records are keyed by line number)."""

    path: Path
    source: str
    fmt: str
    id_column: str | None

    @property
    def customer_id_source(self) -> str | None:
        """The source whose customer ids the tracking events' sign-ins give:
        the shop's (files other than events name their own)."""
        return "shop" if self.fmt == "events" else None


@dataclass(frozen=True)
class DemoDataset:
    folder: Path
    imports: tuple[DemoImport, ...]  # in import order: shop, crm, newsletter, web (two exports)
    truth_path: Path


def generate(out_dir: Path, customers: int = 2000, seed: int = 7) -> DemoDataset:
    """Write the demo files for about ``customers`` people into ``out_dir``.

    Roughly 70% of people have a shop account, 50% are CRM contacts, 30% are
    on the newsletter list and 60% browse the website and identify there; on
    top, anonymous-only visitors (20% of ``customers``) never identify and are
    people of their own.
    """
    if customers < MIN_CUSTOMERS:
        raise ValueError(f"customers must be at least {MIN_CUSTOMERS}, not {customers}")
    dataset = dataset_in(out_dir)
    dataset.folder.mkdir(parents=True, exist_ok=True)
    generator = _Generator(Random(seed), customers)
    imports = dataset.imports
    generator.write_shop(imports[0].path)
    generator.write_crm(imports[1].path)
    generator.write_newsletter(imports[2].path)
    _write_in_two_exports(generator, imports[3].path, imports[4].path)
    generator.write_truth(dataset.truth_path)
    return dataset


def dataset_in(out_dir: Path) -> DemoDataset:
    """The files :func:`generate` writes into ``out_dir``, and how to import
    them (for a data set written earlier, or by another process)."""
    out_dir = Path(out_dir)
    imports = (
        DemoImport(out_dir / "shop.csv", "shop", "csv", "customer_id"),
        DemoImport(out_dir / "crm.csv", "crm", "csv", "contact_id"),
        DemoImport(out_dir / "newsletter.csv", "newsletter", "csv", None),
        DemoImport(out_dir / "events-1.jsonl", "web", "events", None),
        DemoImport(out_dir / "events-2.jsonl", "web", "events", None),
    )
    return DemoDataset(folder=out_dir, imports=imports, truth_path=out_dir / "truth.csv")


def _write_in_two_exports(generator: _Generator, first: Path, second: Path) -> None:
    """Tracking arrives as two exports, split in time: visitors who browse in
    the first and sign in during the second show real merges of an
    anonymous customer into a known one."""
    whole = first.with_name("events.jsonl")
    generator.write_events(whole)
    lines = whole.read_text(encoding="utf-8").splitlines(keepends=True)
    half = len(lines) // 2
    first.write_text("".join(lines[:half]), encoding="utf-8")
    second.write_text("".join(lines[half:]), encoding="utf-8")
    whole.unlink()


# -- reference data ------------------------------------------------------
# Lists are in rough order of frequency: rank r is drawn with weight 1/(r+12).

_FIRST_NAMES = """
Oliver Olivia George Amelia Harry Isla Jack Emily James Sophie Thomas Charlotte William
Jessica Samuel Ella Daniel Grace Joshua Lily Muhammad Chloe Jacob Ava Alexander Sarah
Michael Emma David Hannah Matthew Lucy Christopher Laura Joseph Rebecca Benjamin Elizabeth
Robert Katherine Jonathan Rachel Andrew Megan Richard Holly Mark Jennifer Paul Victoria
Peter Amy John Lauren Stephen Natalie Edward Eleanor Charlie Abigail Henry Freya Oscar
Poppy Noah Mia Leo Evie Ethan Isabella Alfie Phoebe Max Alice Lewis Ruby Adam Millie Ryan
Daisy Nathan Zoe Luke Georgia Liam Bethany Connor Katie Callum Gemma Kieran Nicola Dylan
Claire Jake Samantha Harrison Jade Tyler Helen Reece Michelle Aaron Kelly Ben Lisa Simon
Joanne Gary Karen Neil Susan Ian Julie Martin Deborah Anthony Amanda Kevin Angela Nicholas
Alison Philip Margaret Timothy Patricia Gareth Catherine Rhys Siân Owen Zoë Dafydd Chloé
Callan Cerys Ewan Ffion Hamish Seren Fraser Niamh Angus Aoife Seán Róisín Ciarán Saoirse
Oisín Eilís Pádraig Bríd Éamonn Renée Tomás Anaïs José Élodie André Hélène Inès Léa
Noémie Mohammed Aisha Fatima Priya Zara Amira Yusuf Ibrahim Omar Hamza Bilal Imran Ravi
Sanjay Arjun Aarav Anjali Deepa Sunita Mei Wei Kai Luca Hugo Arlo Reuben Elijah Theo
Theodore Archie Freddie Frederick Arthur Albert Stanley Teddy Reggie Ronnie Louie Louis
Tommy Jude Rory Sebastian Gabriel Isaac Caleb Ezra Dexter Jenson Finley Logan Mason Riley
Zachary Tobias Toby Elliot Hugh Florence Matilda Harriet Imogen Esme Thea Ada Ivy Willow
Sienna Sofia Maya Luna Layla Scarlett Aria Erin Evelyn Harper Elsie Rosie Eva Isabelle
Emilia Penelope Josephine Madeleine Georgina Francesca Alexandra Rosalind Beatrice
Gwendolyn Dorothy Jacqueline Christine Christina Kimberley Stephanie Danielle Leanne
Kirsty Stacey Tracey Linda Barbara Elaine Janet Pauline Carol Wendy Gillian Sharon Denise
Hayley Kerry Lindsey Vanessa Colin Keith Trevor Barry Derek Malcolm Geoffrey Kenneth
Raymond Ronald Donald Douglas Gerald Lawrence Leonard Vincent Stuart Graham Nigel Roger
Dennis Clive Alan Brian Terry Craig Darren Lee Wayne Shaun Dean Scott Jamie Carl Gregory
Francis Patrick Declan Conor Cormac Brendan Fergus Alasdair Lachlan Struan Iona Morven
Ailsa Kirsteen Eilidh Shona Catriona Rhiannon Bronwen Nia Lowri Elin Gethin Iwan Emrys
"""

_SURNAMES = """
Smith,Jones,Williams,Taylor,Brown,Davies,Evans,Wilson,Thomas,Johnson,Roberts,Robinson,
Thompson,Wright,Walker,White,Edwards,Hughes,Green,Hall,Lewis,Harris,Clarke,Patel,Jackson,
Wood,Turner,Martin,Cooper,Hill,Ward,Morris,Moore,Clark,Lee,King,Baker,Harrison,Morgan,
Allen,James,Scott,Phillips,Watson,Davis,Parker,Price,Bennett,Young,Griffiths,Mitchell,
Kelly,Cook,Carter,Richardson,Bailey,Collins,Bell,Shaw,Murphy,Miller,Cox,Richards,Khan,
Marshall,Anderson,Simpson,Ellis,Adams,Singh,Begum,Wilkinson,Foster,Chapman,Powell,Webb,
Rogers,Gray,Mason,Ali,Hunt,Hussain,Campbell,Matthews,Owen,Palmer,Holmes,Mills,Barnes,
Knight,Lloyd,Butler,Russell,Barker,Fisher,Stevens,Jenkins,Murray,Dixon,Harvey,Graham,
Pearson,Ahmed,Fletcher,Walsh,Kaur,Gibson,Howard,Andrews,Stewart,Elliott,Reynolds,
Saunders,Payne,Fox,Ford,Pearce,Day,Brooks,West,Lawrence,Cole,Atkinson,Bradley,Spencer,
Gill,Dawson,Ball,Burton,O'Brien,Watts,Rose,Booth,Perry,Ryan,Grant,Wells,Armstrong,
Francis,Rees,Hayes,Hart,Hudson,Newman,Barrett,Webster,Hunter,Gregory,Carr,Lowe,Page,
Marsh,Riley,Dunn,Woods,Parsons,Berry,Stone,Reid,Holland,Hawkins,Harding,Porter,
Robertson,Newton,Oliver,Reed,Kennedy,Williamson,Bird,Gardner,Shah,Dean,Lane,Cooke,Bates,
Henderson,Parry,Burgess,Bishop,Walton,Burns,Nicholson,Shepherd,Ross,Cross,Long,Freeman,
Warren,Nicholls,Hamilton,Byrne,Sutton,McDonald,Yates,Hodgson,Robson,Curtis,Hopkins,
O'Connor,Harper,Coleman,Watkins,Moss,McCarthy,Chambers,O'Neill,Griffin,Sharp,Hardy,
Wheeler,Potter,Osborne,Johnston,Gordon,Doyle,Wallace,George,Jordan,Hutchinson,Rowe,
Burke,May,Pritchard,Gilbert,Willis,Higgins,Read,Miles,Stevenson,Stephenson,Hammond,
Arnold,Buckley,Walters,Hewitt,Barber,Nelson,Slater,Austin,Sullivan,Whitehead,Mann,Frost,
Lambert,Stephens,Blake,Akhtar,Lynch,Goodwin,Barton,Woodward,Thomson,Cunningham,Quinn,
Barnett,Baxter,Bibi,Clayton,Nash,Greenwood,Jennings,Holt,Kemp,Poole,Gallagher,Bond,
Stokes,Tucker,Davidson,Fowler,Heath,Norman,Middleton,Lawson,Banks,French,Stanley,Jarvis,
Gibbs,Ferguson,Hayward,Carroll,Farrell,Hurst,Lord,Gough,Howe,Doherty,Chadwick,MacLeod,
McKenzie,MacDonald,McLaughlin,D'Souza,De Silva,Smith-Jones,Taylor-Wood,Hughes-Davies,
Price-Jones,Lloyd-Evans,Fitzgerald,Nowak,Kowalski,Wiśniewski,Nguyen,Wong,Chen,Okafor,
Adeyemi,Mensah,Osei,Costa,Ferreira,Rossi,Müller,Núñez,Ó Briain
"""

# A formal first name and the short forms people give in a CRM or a sign-up form.
_NICKNAMES: dict[str, tuple[str, ...]] = {
    "Robert": ("Bob", "Rob", "Bobby"), "Elizabeth": ("Liz", "Beth", "Lizzie"),
    "Jonathan": ("Jon", "Jonny"), "Katherine": ("Kate", "Kath"), "Catherine": ("Cathy", "Kate"),
    "William": ("Bill", "Will", "Billy"), "Margaret": ("Maggie", "Peggy"),
    "Richard": ("Rich", "Rick"), "James": ("Jim", "Jimmy"), "Thomas": ("Tom", "Tommy"),
    "Michael": ("Mike", "Mick"), "Christopher": ("Chris",), "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt",), "Alexander": ("Alex", "Sandy"), "Samuel": ("Sam", "Sammy"),
    "Benjamin": ("Ben", "Benji"), "Joseph": ("Joe",), "Edward": ("Ed", "Ted", "Eddie"),
    "Anthony": ("Tony",), "Nicholas": ("Nick", "Nicky"), "Andrew": ("Andy", "Drew"),
    "Stephen": ("Steve",), "Jennifer": ("Jen", "Jenny"), "Rebecca": ("Becky", "Becca"),
    "Victoria": ("Vicky", "Tori"), "Jessica": ("Jess",), "Samantha": ("Sam", "Sammy"),
    "Charlotte": ("Lottie", "Charlie"), "Eleanor": ("Ellie", "Nell"), "Abigail": ("Abbie", "Abby"),
    "Susan": ("Sue", "Susie"), "Patricia": ("Pat", "Trish"), "Deborah": ("Debbie", "Deb"),
    "Natalie": ("Nat",), "Frederick": ("Fred", "Freddie"), "Henry": ("Harry", "Hal"),
    "Timothy": ("Tim",), "Peter": ("Pete",), "Philip": ("Phil",), "Joshua": ("Josh",),
    "Zachary": ("Zach",), "Isabella": ("Bella", "Izzy"), "Theodore": ("Theo", "Ted"),
    "Gregory": ("Greg",), "Kenneth": ("Ken",), "Raymond": ("Ray",), "Ronald": ("Ron",),
    "Donald": ("Don",), "Douglas": ("Doug",), "Gerald": ("Gerry",), "Lawrence": ("Larry",),
    "Geoffrey": ("Geoff",), "Jacqueline": ("Jackie",), "Josephine": ("Jo", "Josie"),
    "Penelope": ("Penny",), "Gwendolyn": ("Gwen",), "Christine": ("Chris",),
    "Christina": ("Tina",), "Dorothy": ("Dot",), "Kimberley": ("Kim",),
    "Francesca": ("Fran", "Frankie"), "Georgina": ("Georgie",), "Madeleine": ("Maddie",),
    "Matilda": ("Tilly",), "Florence": ("Flo",), "Harriet": ("Hattie",), "Vincent": ("Vince",),
    "Leonard": ("Len", "Lenny"), "Stuart": ("Stu",), "Alexandra": ("Alex", "Lexi"),
    "Patrick": ("Paddy", "Pat"), "Francis": ("Frank",), "Nathan": ("Nate",),
}

# Town and a postcode area that serves it.
_TOWNS: tuple[tuple[str, str], ...] = (
    ("London", "SW"), ("London", "N"), ("London", "E"), ("London", "SE"), ("London", "NW"),
    ("London", "W"), ("Birmingham", "B"), ("Manchester", "M"), ("Leeds", "LS"),
    ("Glasgow", "G"), ("Liverpool", "L"), ("Bristol", "BS"), ("Sheffield", "S"),
    ("Edinburgh", "EH"), ("Cardiff", "CF"), ("Leicester", "LE"), ("Nottingham", "NG"),
    ("Newcastle upon Tyne", "NE"), ("Belfast", "BT"), ("Brighton", "BN"), ("Southampton", "SO"),
    ("Portsmouth", "PO"), ("Reading", "RG"), ("Oxford", "OX"), ("Cambridge", "CB"),
    ("York", "YO"), ("Norwich", "NR"), ("Exeter", "EX"), ("Plymouth", "PL"), ("Bath", "BA"),
    ("Swansea", "SA"), ("Aberdeen", "AB"), ("Dundee", "DD"), ("Derby", "DE"),
    ("Coventry", "CV"), ("Stoke-on-Trent", "ST"), ("Hull", "HU"), ("Bradford", "BD"),
    ("Milton Keynes", "MK"), ("Northampton", "NN"), ("Ipswich", "IP"), ("Peterborough", "PE"),
    ("Lincoln", "LN"), ("Preston", "PR"), ("Blackpool", "FY"), ("Bolton", "BL"),
    ("Wigan", "WN"), ("Warrington", "WA"), ("Chester", "CH"), ("Shrewsbury", "SY"),
    ("Worcester", "WR"), ("Gloucester", "GL"), ("Cheltenham", "GL"), ("Swindon", "SN"),
    ("Salisbury", "SP"), ("Bournemouth", "BH"), ("Guildford", "GU"), ("Canterbury", "CT"),
    ("Maidstone", "ME"), ("Tunbridge Wells", "TN"), ("Luton", "LU"), ("St Albans", "AL"),
    ("Watford", "WD"), ("Chelmsford", "CM"), ("Colchester", "CO"), ("Southend-on-Sea", "SS"),
    ("Harrogate", "HG"), ("Durham", "DH"), ("Sunderland", "SR"), ("Carlisle", "CA"),
    ("Lancaster", "LA"), ("Inverness", "IV"), ("Perth", "PH"), ("Stirling", "FK"),
    ("Wrexham", "LL"), ("Newport", "NP"), ("Truro", "TR"), ("Taunton", "TA"),
    ("Hereford", "HR"), ("Telford", "TF"), ("Wolverhampton", "WV"), ("Walsall", "WS"),
    ("Dudley", "DY"), ("Huddersfield", "HD"), ("Halifax", "HX"), ("Wakefield", "WF"),
    ("Doncaster", "DN"), ("Middlesbrough", "TS"), ("Darlington", "DL"), ("Kilmarnock", "KA"),
    ("Paisley", "PA"), ("Motherwell", "ML"), ("Dumfries", "DG"), ("Kirkcaldy", "KY"),
    ("Croydon", "CR"), ("Kingston upon Thames", "KT"), ("Twickenham", "TW"), ("Harrow", "HA"),
    ("Romford", "RM"), ("Ilford", "IG"), ("Enfield", "EN"), ("Bromley", "BR"),
)

_STREETS = """
High Street,Station Road,Church Lane,Victoria Road,Park Avenue,Mill Lane,Church Street,
London Road,Main Street,Queen's Road,King's Road,Green Lane,Manor Road,Park Road,New Road,
School Lane,The Green,Grove Road,Alexandra Road,Springfield Road,Kingsway,North Street,
George Street,Albert Road,Highfield Road,West Street,York Road,Windsor Road,Chapel Street,
The Crescent,Broadway,Mount Pleasant,Orchard Close,Meadow Way,Willow Drive,Oak Avenue,
Beech Grove,Elm Road,Ash Close,Cedar Court,Heather Way,Primrose Hill,Rowan Close,
St John's Road,St Mary's Road,Marlborough Road,Stanley Road,Cromwell Road,Nelson Street,
Wellington Road,Brook Street,Bridge Street,Market Place,Castle Street,Abbey Road,
Princes Street,Regent Street,Clarence Road,Lansdowne Road,Fairfield Road,Riverside,
Sandy Lane,Hillside,Woodland Road,Coronation Road,Jubilee Close,Derwent Drive,Thames Street,
Severn Way,Pennine View,Moorland Road,Harbour Road,Cliff Road,Seaview Terrace,Gower Road,
Heol y Coed,Ffordd y Llan,Burnside,Craigie Street,Braeside,Glebe Road,Vicarage Lane
"""

# Weighted by rough UK market share; the weights are the repeat counts.
_EMAIL_DOMAINS = (
    ("gmail.com", 30), ("hotmail.co.uk", 14), ("outlook.com", 10), ("yahoo.co.uk", 8),
    ("btinternet.com", 7), ("icloud.com", 7), ("hotmail.com", 5), ("live.co.uk", 4),
    ("sky.com", 3), ("aol.com", 2), ("virginmedia.com", 2), ("talktalk.net", 2),
    ("googlemail.com", 2), ("me.com", 1), ("ntlworld.com", 1), ("protonmail.com", 1),
)

# Company name and its mail domain, for work emails and the CRM's Company column.
_COMPANIES: tuple[tuple[str, str], ...] = (
    ("Acorn Logistics Ltd", "acornlogistics.co.uk"), ("Brightwater Consulting", "brightwater.co.uk"),
    ("Castle & Crown Estates", "castlecrown.co.uk"), ("Dovetail Joinery Ltd", "dovetailjoinery.co.uk"),
    ("Evergreen Garden Centres", "evergreengc.co.uk"), ("Fenwick Hargreaves LLP", "fenwickhargreaves.com"),
    ("Greystone Accountants", "greystone-acc.co.uk"), ("Harbourside Dental", "harboursidedental.co.uk"),
    ("Ironbridge Engineering", "ironbridge-eng.co.uk"), ("Juniper Health", "juniperhealth.org.uk"),
    ("Kestrel Software Ltd", "kestrelsoftware.io"), ("Lakeland Outdoor Co", "lakelandoutdoor.co.uk"),
    ("Meridian Travel", "meridiantravel.co.uk"), ("Northgate Housing Trust", "northgatehousing.org.uk"),
    ("Oakfield Primary School", "oakfield.sch.uk"), ("Pennine Building Supplies", "penninebs.co.uk"),
    ("Quayside Media", "quaysidemedia.com"), ("Redbrick Property", "redbrickproperty.co.uk"),
    ("Severn Valley Foods", "severnvalleyfoods.co.uk"), ("Thistle Insurance", "thistleinsurance.co.uk"),
    ("Union Street Bakery", "unionstreetbakery.co.uk"), ("Vale Veterinary Group", "valevets.co.uk"),
    ("Westway Motors", "westwaymotors.co.uk"), ("Yew Tree Care Homes", "yewtreecare.co.uk"),
    ("NHS Lothian", "nhslothian.scot.nhs.uk"), ("Leeds City Council", "leeds.gov.uk"),
)

# UK mobile prefixes (after the leading 0) that phonenumbers validates for the
# whole 6-digit range, with three or more distinct digits and no consecutive
# last two digits, so that no generated number looks like a placeholder or a
# digit run to the normaliser.  07700 900xxx (the drama range) is not here.
_MOBILE_PREFIXES: tuple[str, ...] = tuple(
    """7406 7413 7420 7427 7441 7448 7455 7462 7469 7483 7497 7504 7511 7518 7525 7539 7546
    7553 7560 7574 7581 7588 7595 7602 7644 7693 7714 7728 7735 7742 7749 7763 7784 7791 7805
    7819 7826 7833 7840 7847 7861 7868 7875 7882 7896 7903 7917 7924 7931 7938 7952 7959 7966
    7973 7980 7994""".split()
)

_PRODUCTS = """
linen-shirt,wool-jumper,rain-jacket,walking-boots,canvas-tote,silk-scarf,denim-jeans,
chelsea-boots,cashmere-beanie,leather-belt,cotton-tee,puffer-vest,yoga-leggings,
running-shoes,garden-gloves,ceramic-mug,teapot,throw-blanket,scented-candle,wall-clock,
desk-lamp,bath-towel,picnic-basket,water-bottle,notebook,fountain-pen,umbrella,sunglasses
"""
_CATEGORIES = ("women", "men", "home", "garden", "sale", "new-in", "gifts", "outdoor")
_ARTICLES = ("spring-lookbook", "how-to-care-for-wool", "gift-guide", "our-story", "size-guide")

_EVENT_WINDOW_START = date(2026, 4, 1)
_LAST_WEB_START_DAY = 150  # devices first appear within 150 days; visits run on for up to ~50
_DAY_SECONDS = 86_400
_DISTIL_NAMES_RATE = 0.15  # share of event lines written with Distil's field names


def _split(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(sep) if part.strip())


def _cumulative(count: int) -> list[float]:
    """Zipf-like cumulative weights for a list in frequency order."""
    return list(accumulate(1.0 / (rank + 12) for rank in range(count)))


def _browse_options() -> tuple[tuple[tuple[str, str], ...], list[float]]:
    """Every non-identifying event a visitor can make, as (event, properties
    JSON) with cumulative weights.  Serialising these once, not per event,
    is what keeps 100k people to a few seconds."""
    weighted: list[tuple[str, str, float]] = []

    def add(event: str, properties: dict[str, str], weight: float) -> None:
        weighted.append((event, json.dumps(properties), weight))

    for product in _PRODUCT:
        add("page_view", {"path": f"/products/{product}"}, 35 / len(_PRODUCT))
        add("add_to_basket", {"path": f"/products/{product}", "product": product}, 10 / len(_PRODUCT))
        add("page_view", {"path": f"/search?q={product.split('-')[0]}"}, 3 / len(_PRODUCT))
    for category in _CATEGORIES:
        add("page_view", {"path": f"/category/{category}"}, 25 / len(_CATEGORIES))
    for article in _ARTICLES:
        add("page_view", {"path": f"/blog/{article}"}, 10 / len(_ARTICLES))
    for path, weight in (("/", 10), ("/basket", 4), ("/account", 3)):
        add("page_view", {"path": path}, weight)
    options = tuple((event, properties) for event, properties, _ in weighted)
    return options, list(accumulate(weight for _, _, weight in weighted))


_FIRST = _split(_FIRST_NAMES)
_FIRST_CUM = _cumulative(len(_FIRST))
_LAST = _split(_SURNAMES, ",")
_LAST_CUM = _cumulative(len(_LAST))
_STREET = _split(_STREETS, ",")
_PRODUCT = _split(_PRODUCTS, ",")
_BROWSE, _BROWSE_CUM = _browse_options()
_DOMAIN = tuple(domain for domain, _ in _EMAIL_DOMAINS)
_DOMAIN_CUM = list(accumulate(weight for _, weight in _EMAIL_DOMAINS))
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters Royal Mail uses in an inward code
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_EVENT_DAYS = tuple((_EVENT_WINDOW_START + timedelta(days=day)).isoformat() for day in range(_LAST_WEB_START_DAY + 90))


@lru_cache(maxsize=None)
def _ascii_key(name: str) -> str:
    """Name as it appears in an email address: 'Zoë' -> 'zoe', "O'Brien" -> 'obrien'."""
    decomposed = unicodedata.normalize("NFKD", name.lower())
    return "".join(ch for ch in decomposed if ch.isascii() and (ch.isalnum() or ch == "-"))


@lru_cache(maxsize=None)
def _strip_accents(name: str) -> str:
    """What a system without Unicode makes of a name: 'Siân' -> 'Sian'."""
    decomposed = unicodedata.normalize("NFKD", name)
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}"


@dataclass(slots=True, eq=False)
class _Person:
    """Everything true about one person; the files record it imperfectly."""

    person_id: str
    first_name: str
    last_name: str
    email: str
    alt_email: str | None
    phone: str | None  # national form, 07406123456
    dob: date
    address: str
    town: str
    postcode: str
    company: str | None
    in_shop: bool
    in_crm: bool
    in_newsletter: bool
    on_web: bool
    in_trap: bool = False
    test_mailbox: tuple[str, str] | None = None  # (source, mailbox as written there)
    placeholder_phone: tuple[str, str] | None = None  # (source, number as written there)
    shop_id: str | None = None  # the account the person signs in with


@dataclass(slots=True, eq=False)
class _Identify:
    """An identify event before it is dated and written.  With Distil's field
    names there is no phone field, so ``phone`` is then always empty."""

    event: str
    properties: dict[str, object]
    person: _Person
    distil_names: bool
    customer_id: str = ""
    email: str = ""
    phone: str = ""


class _Generator:
    """Holds the seeded random source, the people and the truth rows while
    the files are written one after the other, in import order: the shop
    hands out the account ids that web sign-ins carry.

    Draws go through :meth:`below`, :meth:`pick` and :meth:`weighted`, thin
    wrappers over ``random()``: ``randrange`` and ``choice`` cost ten times
    more, which matters at millions of draws.
    """

    def __init__(self, rng: Random, customers: int) -> None:
        self.rng = rng
        self.rand = rng.random
        self.used_emails: set[str] = set()
        self.used_phones: set[str] = set()
        self.truth: list[tuple[str, str, str, str, str]] = []
        # Trap value -> (kind, group), by folded email, phone as written and cookie.
        self.email_traps: dict[str, tuple[str, str]] = {}
        self.phone_traps: dict[str, tuple[str, str]] = {}
        self.cookie_traps: dict[str, tuple[str, str]] = {}
        self.family_computers: list[tuple[_Person, _Person]] = []
        self.people, pairs = self._make_people(customers)
        self._plant_traps(customers, pairs)

    def below(self, n: int) -> int:
        return int(self.rand() * n)

    def pick(self, options: tuple[str, ...] | str) -> str:
        return options[int(self.rand() * len(options))]

    def weighted(self, options: tuple[str, ...], cum_weights: list[float]) -> str:
        return options[bisect(cum_weights, self.rand() * cum_weights[-1])]

    # -- people --------------------------------------------------------------

    def _make_people(self, customers: int) -> tuple[list[_Person], list[tuple[_Person, _Person]]]:
        """People, some of them living in pairs at one address (couples,
        parents and grown-up children): the raw material for household traps
        and for near-duplicates that are not duplicates."""
        n_pairs = max(customers // 25, 8)
        sizes = [2] * n_pairs + [1] * (customers - 2 * n_pairs)
        self.rng.shuffle(sizes)
        people: list[_Person] = []
        pairs: list[tuple[_Person, _Person]] = []
        for size in sizes:
            first = self._person(len(people) + 1, None)
            people.append(first)
            if size == 2:
                second = self._person(len(people) + 1, first)
                people.append(second)
                pairs.append((first, second))
        return people, pairs

    def _person(self, number: int, home_of: _Person | None) -> _Person:
        rand = self.rand
        first = self.weighted(_FIRST, _FIRST_CUM)
        if home_of is None:
            last = self.weighted(_LAST, _LAST_CUM)
            town, area = _TOWNS[self.below(len(_TOWNS))]
            address = self._street_address()
            inward = f"{self.below(10)}{self.pick(_INWARD_LETTERS)}{self.pick(_INWARD_LETTERS)}"
            postcode = f"{area}{1 + self.below(28)} {inward}"
        else:
            while first == home_of.first_name:
                first = self.weighted(_FIRST, _FIRST_CUM)
            last = home_of.last_name if rand() < 0.75 else self.weighted(_LAST, _LAST_CUM)
            town, address, postcode = home_of.town, home_of.address, home_of.postcode
        dob = date(1940, 1, 1) + timedelta(days=self.below(68 * 365))
        company = _COMPANIES[self.below(len(_COMPANIES))] if rand() < 0.2 else None
        email = self._new_email(first, last, dob)
        alt_email = None
        if rand() < 0.2:
            work_domain = company[1] if company and rand() < 0.5 else None
            alt_email = self._new_email(first, last, dob, work_domain)
        in_shop, in_crm, in_newsletter, on_web = rand() < 0.7, rand() < 0.5, rand() < 0.3, rand() < 0.6
        if not (in_shop or in_crm or in_newsletter or on_web):
            in_shop = rand() < 0.6
            in_crm = not in_shop
        return _Person(
            person_id=f"P{number:06d}",
            first_name=first,
            last_name=last,
            email=email,
            alt_email=alt_email,
            phone=self._new_phone() if rand() < 0.85 else None,
            dob=dob,
            address=address,
            town=town,
            postcode=postcode,
            company=company[0] if company else None,
            in_shop=in_shop,
            in_crm=in_crm,
            in_newsletter=in_newsletter,
            on_web=on_web,
        )

    def _street_address(self) -> str:
        street = self.pick(_STREET)
        if self.rand() < 0.12:
            return f"Flat {1 + self.below(24)}, {1 + self.below(180)} {street}"
        return f"{1 + self.below(220)} {street}"

    def _new_email(self, first: str, last: str, dob: date, domain: str | None = None) -> str:
        """A plausible address nobody else has: mailboxes are personal, so two
        people sharing one must be a deliberate trap, never an accident."""
        f, l = _ascii_key(first), _ascii_key(last)
        yy = f"{dob.year % 100:02d}"
        pattern = self.below(8)
        if pattern == 0:
            local = f"{f}.{l}"
        elif pattern == 1:
            local = f"{f}{l}"
        elif pattern == 2:
            local = f"{f[0]}{l}"
        elif pattern == 3:
            local = f"{f}.{l}{yy}"
        elif pattern == 4:
            local = f"{f}_{l}"
        elif pattern == 5:
            local = f"{l}.{f}"
        elif pattern == 6:
            local = f"{f}{yy}"
        else:
            local = f"{f}.{l}{1 + self.below(99)}"
        domain = domain or self.weighted(_DOMAIN, _DOMAIN_CUM)
        email = f"{local}@{domain}"
        while email in self.used_emails:
            email = f"{local}{1 + self.below(9999)}@{domain}"
        self.used_emails.add(email)
        return email

    def _new_phone(self) -> str:
        while True:
            phone = f"0{self.pick(_MOBILE_PREFIXES)}{self.below(1_000_000):06d}"
            if phone not in self.used_phones:
                self.used_phones.add(phone)
                return phone

    # -- traps ---------------------------------------------------------------

    def _plant_traps(self, customers: int, pairs: list[tuple[_Person, _Person]]) -> None:
        """Choose disjoint people for each trap, so that every trap record
        carries exactly one trap value, and put them in the sources the trap
        needs."""
        rng = self.rng
        n_households = max(3, customers // 200)
        n_family_computers = max(2, customers // 300)
        chosen = rng.sample(pairs, n_households + n_family_computers)
        for a, b in chosen[:n_households]:
            b.last_name = a.last_name
            shared = self._household_email(a, b)
            self.email_traps[shared] = (HOUSEHOLD_EMAIL, shared)
            for person in (a, b):
                person.email, person.alt_email = shared, None
                person.in_shop = person.in_trap = True
        for a, b in chosen[n_households:]:
            for person in (a, b):
                person.in_shop = person.on_web = person.in_trap = True
            self.family_computers.append((a, b))

        in_pairs = {id(person) for pair in pairs for person in pair}
        singles = [person for person in self.people if id(person) not in in_pairs]
        per_mailbox = max(3, customers // 250)
        per_placeholder = max(2, customers // 400)
        needed = per_mailbox * len(TEST_MAILBOXES) + per_placeholder * len(PLACEHOLDER_PHONES)
        picked = iter(rng.sample(singles, needed))
        for mailbox in TEST_MAILBOXES:
            self.email_traps[mailbox] = (TEST_MAILBOX, mailbox)
            for _ in range(per_mailbox):
                person = next(picked)
                written = self.pick((mailbox, mailbox.upper(), mailbox.capitalize(), f" {mailbox}"))
                person.test_mailbox = (self._force_source(person), written)
        for number in PLACEHOLDER_PHONES:
            self.phone_traps[number] = (PLACEHOLDER_PHONE, number)
            for _ in range(per_placeholder):
                person = next(picked)
                person.placeholder_phone = (self._force_source(person), number)

    def _household_email(self, a: _Person, b: _Person) -> str:
        last, fa, fb = _ascii_key(a.last_name), _ascii_key(a.first_name), _ascii_key(b.first_name)
        local = self.pick((f"{last}family", f"the{last}s", f"{fa}and{fb}", f"{last}household"))
        domain = self.weighted(_DOMAIN, _DOMAIN_CUM)
        email = f"{local}@{domain}"
        while email in self.used_emails:
            email = f"{local}{1 + self.below(99)}@{domain}"
        self.used_emails.add(email)
        return email

    def _force_source(self, person: _Person) -> str:
        """Shop or CRM, where staff type placeholders into required fields."""
        person.in_trap = True
        if self.rand() < 0.5:
            person.in_shop = True
            return "shop"
        person.in_crm = True
        return "crm"

    def _trap(self, email: str = "", phone: str = "", cookie: str = "") -> tuple[str, str]:
        """The trap a record falls in by the values it carries, or none."""
        if cookie in self.cookie_traps:
            return self.cookie_traps[cookie]
        folded = email.strip().lower()
        if folded in self.email_traps:
            return self.email_traps[folded]
        return self.phone_traps.get(phone, ("", ""))

    def _record(self, source: str, key: str, person_id: str, trap: tuple[str, str]) -> None:
        self.truth.append((source, key, person_id, *trap))

    # -- mess ----------------------------------------------------------------

    def _typo(self, word: str) -> str:
        """One edit (substitution, deletion or insertion) after the first
        letter, where a slip of the finger usually lands."""
        if len(word) < 4:
            return word
        at = 1 + self.below(len(word) - 1)
        letter = self.pick(_LETTERS)
        kind = self.below(3)
        if kind == 0 and letter != word[at].lower():
            return word[:at] + letter + word[at + 1 :]
        if kind == 1:
            return word[:at] + word[at + 1 :]
        return word[:at] + letter + word[at:]

    def _phone_text(self, national: str, messy: bool) -> str:
        """The same number the ways people and systems write it."""
        rest = national[1:]
        styles = [f"{national[:5]} {national[5:]}", national, f"+44{rest}", f"+44 {rest[:4]} {rest[4:]}"]
        if messy:
            styles += [
                f"({national[:5]}) {national[5:8]} {national[8:]}",
                f"0044 {rest[:4]} {rest[4:]}",
                f"{national[:5]} {national[5:8]} {national[8:]}",
            ]
        return styles[self.below(len(styles))]

    def _email_text(self, email: str) -> str:
        """Case and spaces as a CRM user typed them."""
        roll = self.rand()
        if roll < 0.1:
            email = email.upper()
        elif roll < 0.2:
            local, _, domain = email.partition("@")
            email = f"{'.'.join(part.capitalize() for part in local.split('.'))}@{domain.capitalize()}"
        if self.rand() < 0.08:
            email = self.pick((f" {email}", f"{email} ", f"  {email} "))
        return email

    def _first_name_text(self, person: _Person, nickname_rate: float) -> str:
        forms = _NICKNAMES.get(person.first_name)
        if forms and self.rand() < nickname_rate:
            return self.pick(forms)
        return person.first_name

    def _messy_postcode(self, postcode: str) -> str:
        roll = self.rand()
        if roll < 0.05:
            return ""
        if roll < 0.2:
            return postcode.replace(" ", "")
        if roll < 0.3:
            return postcode.lower()
        return postcode

    # -- files ---------------------------------------------------------------

    def write_shop(self, path: Path) -> None:
        """Shop accounts, comma separated and fairly clean: people typed their
        own details.  About 2% of people opened a second account."""
        rand = self.rand
        accounts = [(person, True) for person in self.people if person.in_shop]
        accounts += [(person, False) for person, _ in accounts if not person.in_trap and rand() < 0.02]
        self.rng.shuffle(accounts)
        header = (
            "customer_id", "first_name", "last_name", "email", "phone", "address_line_1", "town",
            "postcode", "country", "date_of_birth", "total_orders", "last_order_date",
        )
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            for number, (person, main) in enumerate(accounts, 1):
                customer_id = f"S{number:06d}"
                first, last = person.first_name, person.last_name
                case = rand()
                if case < 0.04:
                    first, last = first.lower(), last.lower()
                elif case < 0.06:
                    first, last = first.upper(), last.upper()
                if main:
                    person.shop_id = customer_id
                    email = person.email
                else:
                    email = person.alt_email or self._new_email(person.first_name, person.last_name, person.dob)
                phone = self._phone_text(person.phone, messy=False) if person.phone and rand() < 0.8 else ""
                if main and person.test_mailbox and person.test_mailbox[0] == "shop":
                    email = person.test_mailbox[1]
                if main and person.placeholder_phone and person.placeholder_phone[0] == "shop":
                    phone = person.placeholder_phone[1]
                postcode = person.postcode if rand() < 0.93 else person.postcode.replace(" ", "")
                orders = min(int(self.rng.paretovariate(1.6)) - 1, 150) if main else 0
                last_order = (date(2023, 1, 1) + timedelta(days=self.below(1400))).isoformat() if orders else ""
                writer.writerow((
                    customer_id, first, last, email, phone, person.address, person.town, postcode,
                    self.pick(("United Kingdom", "United Kingdom", "UK", "GB", "")),
                    person.dob.isoformat() if main and rand() < 0.6 else "",
                    orders, last_order,
                ))
                self._record("shop", customer_id, person.person_id, self._trap(email, phone))

    def write_crm(self, path: Path) -> None:
        """CRM contacts, semicolon separated, typed in by staff: nicknames,
        typos, shouting, missing values, every phone format.  About 3% of
        contacts were entered twice (work and personal)."""
        rand = self.rand
        contacts = [(person, True) for person in self.people if person.in_crm]
        contacts += [(person, False) for person, _ in contacts if not person.in_trap and rand() < 0.03]
        self.rng.shuffle(contacts)
        header = ("Forename", "Surname", "E-mail Address", "Mobile", "City", "Post Code", "DOB", "Company", "contact_id")
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter=";", lineterminator="\n")
            writer.writerow(header)
            for number, (person, main) in enumerate(contacts, 1):
                contact_id = f"C{number:06d}"
                first = self._first_name_text(person, 0.35 if main else 0.6)
                last = person.last_name
                if rand() < 0.3:
                    first, last = _strip_accents(first), _strip_accents(last)
                if rand() < 0.06:
                    if rand() < 0.5:
                        first = self._typo(first)
                    else:
                        last = self._typo(last)
                if rand() < 0.05:
                    last = last.upper()
                if main:
                    email = person.alt_email if person.alt_email and rand() < 0.25 else person.email
                else:
                    email = person.alt_email or ""
                email = self._email_text(email) if email and rand() > 0.1 else ""
                phone = self._phone_text(person.phone, messy=True) if person.phone and rand() > 0.15 else ""
                if main and person.test_mailbox and person.test_mailbox[0] == "crm":
                    email = person.test_mailbox[1]
                if main and person.placeholder_phone and person.placeholder_phone[0] == "crm":
                    phone = person.placeholder_phone[1]
                town = "" if rand() < 0.05 else person.town.upper() if rand() < 0.1 else person.town
                postcode = self._messy_postcode(person.postcode)
                dob = person.dob.strftime("%d/%m/%Y") if rand() < 0.55 else ""
                writer.writerow((first, last, email, phone, town, postcode, dob, person.company or "", contact_id))
                self._record("crm", contact_id, person.person_id, self._trap(email, phone))

    def write_newsletter(self, path: Path) -> None:
        """Newsletter sign-ups in sign-up order, keyed by line number: an
        email and whatever first name people bothered to give.  About 1.5%
        signed up twice."""
        rand = self.rand
        start = date(2019, 1, 1).toordinal()
        signups: list[tuple[int, int, _Person, str]] = []
        for person in self.people:
            if not person.in_newsletter:
                continue
            email = person.alt_email if person.alt_email and rand() < 0.15 else person.email
            for _ in range(2 if not person.in_trap and rand() < 0.015 else 1):
                signups.append((self.below(2860 * _DAY_SECONDS), len(signups), person, email))
        signups.sort(key=lambda signup: signup[:2])
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(("email", "first_name", "signup_date"))
            for line, (moment, _, person, email) in enumerate(signups, 2):
                first = self._first_name_text(person, 0.2)
                roll = rand()
                if roll < 0.1:
                    first = ""
                elif roll < 0.2:
                    first = first.lower()
                day, seconds = divmod(moment, _DAY_SECONDS)
                stamp = f"{date.fromordinal(start + day).isoformat()} {_clock(seconds)}"
                shown = email if rand() < 0.9 else email.capitalize()
                writer.writerow((shown, first, stamp))
                self._record("newsletter", str(line), person.person_id, self._trap(shown))

    def write_events(self, path: Path) -> None:
        """Website tracking, sorted by time.  Each known web visitor browses on
        one device (sometimes two) and identifies there at least once; on a
        family computer a second person signs in later on the same cookie;
        anonymous-only visitors browse and leave.

        The visitor record of a cookie belongs to the first person who
        identified on it; each identify record to the person who identified.
        """
        rand, below = self.rand, self.below
        # (time, sequence, line, cookie, identify record or None); the sequence
        # keeps equal times in creation order and stops comparison there.
        timeline: list[tuple[int, int, str, str, tuple[str, str, tuple[str, str]] | None]] = []
        visitor_owner: dict[str, tuple[str, tuple[str, str]]] = {}
        family_second = {id(a): b for a, b in self.family_computers}

        def add_device(cookie: str, visits: list[tuple[str, str] | _Identify], moment: int) -> int:
            for visit in visits:
                moment += 20 + below(380) if rand() < 0.8 else 3_600 + below(2 * _DAY_SECONDS - 3_600)
                day, seconds = divmod(moment, _DAY_SECONDS)
                stamp = f"{_EVENT_DAYS[day]}T{_clock(seconds)}Z"
                if isinstance(visit, _Identify):
                    line = self._identify_line(cookie, stamp, visit)
                    key = identify_record_key(cookie, visit.customer_id, visit.email, visit.phone)
                    record = (key, visit.person.person_id, self._trap(visit.email, visit.phone, cookie))
                else:
                    event, properties = visit
                    if rand() < _DISTIL_NAMES_RATE:
                        line = (
                            f'{{"AnonymousUserID": "{cookie}", "EventTimestampUTC": "{stamp}", '
                            f'"event": "{event}", "properties": {properties}}}\n'
                        )
                    else:
                        line = (
                            f'{{"anonymous_user_id": "{cookie}", "timestamp": "{stamp}", '
                            f'"event": "{event}", "properties": {properties}}}\n'
                        )
                    record = None
                timeline.append((moment, len(timeline), line, cookie, record))
            return moment

        for person in self.people:
            if not person.on_web:
                continue
            for device in range(2 if rand() < 0.15 else 1):
                cookie = self._cookie()
                second = family_second.get(id(person)) if device == 0 else None
                trap = ("", "")
                if second is not None:
                    trap = self.cookie_traps[cookie] = (FAMILY_COMPUTER, cookie)
                visitor_owner[cookie] = (person.person_id, trap)
                visits = self._device_visits(person, signs_in=second is not None)
                end = add_device(cookie, visits, below(_LAST_WEB_START_DAY * _DAY_SECONDS))
                if second is not None:
                    later = end + _DAY_SECONDS + below(4 * _DAY_SECONDS)
                    add_device(cookie, self._device_visits(second, signs_in=True), later)
        for number in range(len(self.people) + 1, len(self.people) + 1 + len(self.people) // 5):
            cookie = self._cookie()
            visitor_owner[cookie] = (f"P{number:06d}", ("", ""))
            visits = [self._browse() for _ in range(1 + below(5))]
            add_device(cookie, visits, below(_LAST_WEB_START_DAY * _DAY_SECONDS))

        timeline.sort()
        seen: set[str] = set()
        with open(path, "w", encoding="utf-8", newline="") as handle:
            for _, _, line, cookie, record in timeline:
                handle.write(line)
                if cookie not in seen:
                    seen.add(cookie)
                    self._record("web", cookie, *visitor_owner[cookie])
                if record is not None and record[0] not in seen:
                    seen.add(record[0])
                    self._record("web", *record)

    def _cookie(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def _device_visits(self, person: _Person, signs_in: bool) -> list[tuple[str, str] | _Identify]:
        """Browsing, then an identify event, then more browsing: page views
        before the identify belong to the person all the same.  ``signs_in``:
        identify with the shop account, as both people on a family computer
        do, so that the shared cookie joins two customer ids."""
        below = self.below
        visits: list[tuple[str, str] | _Identify] = [self._browse() for _ in range(1 + below(6))]
        visits.append(self._identify(person, signs_in))
        if self.rand() < 0.15:
            visits.append(self._identify(person, signs_in))
        visits += [self._browse() for _ in range(below(6))]
        return visits

    def _browse(self) -> tuple[str, str]:
        return _BROWSE[bisect(_BROWSE_CUM, self.rand() * _BROWSE_CUM[-1])]

    def _identify(self, person: _Person, signs_in: bool) -> _Identify:
        """Shop customers mostly sign in or order with their account; other
        people sign up to the newsletter or check out as guests, by email."""
        rand = self.rand
        distil_names = rand() < _DISTIL_NAMES_RATE
        email = person.email
        if person.shop_id and (signs_in or rand() < 0.85):
            if person.test_mailbox and person.test_mailbox[0] == "shop":
                email = person.test_mailbox[1]
            if rand() < 0.7:
                visit = _Identify("sign_in", {"path": "/account/sign-in"}, person, distil_names, person.shop_id)
            else:
                visit = _Identify("order_completed", self._order_properties(), person, distil_names, person.shop_id)
        elif rand() < 0.7:
            visit = _Identify("newsletter_signup", {"path": "/newsletter"}, person, distil_names)
        else:
            visit = _Identify("order_completed", self._order_properties(), person, distil_names)
        if visit.event == "order_completed" and not distil_names and person.phone and rand() < 0.5:
            visit.phone = self._phone_text(person.phone, messy=False)
        visit.email = email.capitalize() if rand() < 0.05 else email
        return visit

    def _order_properties(self) -> dict[str, object]:
        return {
            "path": "/checkout/complete",
            "order_id": f"O{self.below(10**7):07d}",
            "revenue": round(8 + self.rand() * 242, 2),
            "currency": "GBP",
        }

    @staticmethod
    def _identify_line(cookie: str, stamp: str, visit: _Identify) -> str:
        """Identification in the tracking code's ``customer`` block or, with
        Distil's field names, at the top level."""
        person = visit.person
        if visit.distil_names:
            line: dict[str, object] = {
                "AnonymousUserID": cookie, "EventTimestampUTC": stamp,
                "event": visit.event, "properties": visit.properties,
                "CustomerId": visit.customer_id, "EmailAddress": visit.email,
                "FirstName": person.first_name, "LastName": person.last_name,
            }
        else:
            customer = {
                "customer_id": visit.customer_id, "email_address": visit.email,
                "first_name": person.first_name, "last_name": person.last_name,
            }
            if visit.phone:
                customer["mobile_phone_no"] = visit.phone
            line = {
                "anonymous_user_id": cookie, "timestamp": stamp,
                "event": visit.event, "properties": visit.properties, "customer": customer,
            }
        return json.dumps(line, ensure_ascii=False) + "\n"

    def write_truth(self, path: Path) -> None:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(TRUTH_COLUMNS)
            writer.writerows(self.truth)
