"""Hand-written frequency tables for the synthetic people generator.

Names are listed in rough order of popularity; the generator turns the rank into a
Zipf weight (``1 / rank**s``) so that common names are very common and the tail
is long. Variants are nicknames, spelling variants and transliterations that a
real person's records are seen under (``Bill`` for ``William``, ``Muhammad`` for
``Mohammed``).

The tables are written for this project; they are not taken from any census.
"""

from __future__ import annotations

from typing import Final

# The dotless i in Turkish names is intended.
# ruff: noqa: RUF001

# name|gender|variants (comma separated). Order = popularity rank within a gender.
_FIRST_NAMES: Final = """
James|M|Jim,Jimmy,Jamie
Michael|M|Mike,Mikey,Mick
John|M|Jack,Johnny,Jon
Robert|M|Bob,Rob,Bobby,Robbie
David|M|Dave,Davey
William|M|Bill,Will,Billy,Liam
Richard|M|Rick,Rich,Dick,Ricky
Joseph|M|Joe,Joey
Thomas|M|Tom,Tommy
Christopher|M|Chris,Kit
Charles|M|Charlie,Chuck,Chas
Daniel|M|Dan,Danny
Matthew|M|Matt
Anthony|M|Tony,Anton
Mark|M|Marc
Donald|M|Don,Donnie
Steven|M|Steve,Stephen
Paul|M|
Andrew|M|Andy,Drew
Joshua|M|Josh
Kenneth|M|Ken,Kenny
Kevin|M|Kev
Brian|M|Bryan
George|M|
Timothy|M|Tim,Timmy
Ronald|M|Ron,Ronnie
Edward|M|Ed,Eddie,Ted,Ned
Jason|M|Jay
Jeffrey|M|Jeff,Geoffrey
Ryan|M|
Jacob|M|Jake
Gary|M|Garry
Nicholas|M|Nick,Nicky,Nicolas
Eric|M|Erik
Jonathan|M|Jon,Johnathan
Stephen|M|Steve,Steven
Larry|M|Lawrence
Justin|M|
Scott|M|
Brandon|M|
Benjamin|M|Ben,Benny
Samuel|M|Sam,Sammy
Gregory|M|Greg
Alexander|M|Alex,Sasha,Alejandro,Aleksandr
Frank|M|Frankie,Francis
Patrick|M|Pat,Paddy
Raymond|M|Ray
Jack|M|Jackie
Dennis|M|Denny
Jerry|M|Gerald
Tyler|M|
Aaron|M|Aron
Jose|M|José,Pepe
Adam|M|
Nathan|M|Nate
Henry|M|Hank,Harry
Douglas|M|Doug
Zachary|M|Zach,Zack
Peter|M|Pete
Kyle|M|
Noah|M|
Ethan|M|
Jeremy|M|Jerry
Walter|M|Walt
Christian|M|Chris
Keith|M|
Roger|M|
Terry|M|Terrence
Austin|M|
Sean|M|Shawn,Shaun
Gerald|M|Gerry,Jerry
Carl|M|Karl
Harold|M|Harry,Hal
Dylan|M|
Arthur|M|Art,Artie
Lawrence|M|Larry,Laurence
Jordan|M|
Jesse|M|Jess
Bryan|M|Brian
Billy|M|Bill
Bruce|M|
Gabriel|M|Gabe
Joe|M|Joseph
Logan|M|
Alan|M|Allan,Allen
Juan|M|Juanito
Albert|M|Al,Bert
Willie|M|William
Elijah|M|Eli
Wayne|M|
Randy|M|Randall
Vincent|M|Vince,Vinny
Mason|M|
Roy|M|
Ralph|M|Rafe
Bobby|M|Bob,Robert
Russell|M|Russ
Bradley|M|Brad
Philip|M|Phil,Phillip
Eugene|M|Gene
Mohammed|M|Muhammad,Mohamed,Mohammad
Wei|M|
Hiroshi|M|
Arjun|M|
Rahul|M|
Amit|M|
Dmitri|M|Dmitry,Dima
Sergei|M|Sergey,Serge
Ivan|M|Vanya
Oleksandr|M|Olexandr,Alexander
Łukasz|M|Lukasz,Luke
Piotr|M|Peter
Jürgen|M|Juergen,Jurgen
Björn|M|Bjorn,Bjoern
Søren|M|Soren,Soeren
François|M|Francois,Frank
René|M|Rene
Jérôme|M|Jerome
Andrés|M|Andres,Andrew
Sebastián|M|Sebastian,Seb
Nicolás|M|Nicolas,Nico
Miguel|M|Mike
Carlos|M|Charlie
Luis|M|Lewis,Louis
Jorge|M|George
Giuseppe|M|Joseph,Beppe
Giovanni|M|John,Gianni
Marco|M|Mark
Matteo|M|Matthew
Ahmed|M|Ahmad
Omar|M|Umar
Yusuf|M|Youssef,Joseph
Hassan|M|Hasan
Ali|M|
Kwame|M|
Chinedu|M|
Seo-jun|M|Seojun
Minh|M|
Hao|M|
Raj|M|Rajesh
Sanjay|M|
Vikram|M|Vik
Lars|M|
Sven|M|
Kai|M|
Finn|M|
Oliver|M|Ollie
Harry|M|Harold,Henry
Leo|M|Leonard
Oscar|M|Ossie
Theodore|M|Ted,Teddy,Theo
Frederick|M|Fred,Freddie,Fritz
Lucas|M|Luke,Lukas
Owen|M|
Connor|M|Conor
Liam|M|William
Aiden|M|Aidan
Mary|F|Marie,Molly,Polly,Mae
Patricia|F|Pat,Patty,Trish,Tricia
Jennifer|F|Jen,Jenny,Jenn
Linda|F|Lindy
Elizabeth|F|Liz,Beth,Betty,Eliza,Lizzie,Elisabeth
Barbara|F|Barb,Babs
Susan|F|Sue,Susie,Suzanne
Jessica|F|Jess,Jessie
Sarah|F|Sara,Sally
Karen|F|Karin
Lisa|F|Liza
Nancy|F|Nan
Betty|F|Elizabeth
Margaret|F|Maggie,Peggy,Meg,Margo
Sandra|F|Sandy
Ashley|F|Ash
Kimberly|F|Kim,Kimberley
Emily|F|Em,Emmy
Donna|F|
Michelle|F|Shelly,Michele
Carol|F|Carole
Amanda|F|Mandy
Dorothy|F|Dot,Dottie,Dolly
Melissa|F|Mel,Missy
Deborah|F|Deb,Debbie,Debra
Stephanie|F|Steph
Rebecca|F|Becky,Becca
Sharon|F|Shari
Laura|F|Laurie
Cynthia|F|Cindy
Kathleen|F|Kathy,Kath
Amy|F|Aimee
Angela|F|Angie
Shirley|F|
Anna|F|Ann,Anne,Annie
Brenda|F|
Pamela|F|Pam
Emma|F|Em
Nicole|F|Nikki,Nichole
Helen|F|Nell,Ellen
Samantha|F|Sam,Sammy
Katherine|F|Kate,Katie,Kathy,Catherine,Kathryn
Christine|F|Chris,Chrissy,Kristine
Debra|F|Deb,Deborah
Rachel|F|Rach,Rachael
Carolyn|F|Carol,Caroline
Janet|F|Jan
Catherine|F|Cathy,Kate,Katherine,Kathryn
Maria|F|María,Mari
Heather|F|
Diane|F|Diana,Di
Ruth|F|Ruthie
Julie|F|Julia
Olivia|F|Liv,Livvy
Joyce|F|
Virginia|F|Ginny,Ginger
Victoria|F|Vicky,Tori
Kelly|F|Kelley
Lauren|F|Laurie
Christina|F|Tina,Chris,Kristina
Joan|F|Joanie
Evelyn|F|Evie
Judith|F|Judy
Megan|F|Meg,Meghan
Andrea|F|Andi
Cheryl|F|Sheryl
Hannah|F|Hanna
Jacqueline|F|Jackie
Martha|F|Marty,Mattie
Gloria|F|
Teresa|F|Terri,Tess,Theresa
Ann|F|Anne,Annie
Sara|F|Sarah
Madison|F|Maddie
Frances|F|Fran,Frankie
Kathryn|F|Kate,Katie,Katherine
Janice|F|Jan
Jean|F|Jeanne
Abigail|F|Abby,Gail
Alice|F|Ally
Judy|F|Judith
Sophia|F|Sophie,Sofia
Grace|F|Gracie
Denise|F|Denny
Amber|F|
Doris|F|
Marilyn|F|Marilynn
Danielle|F|Dani
Beverly|F|Bev
Isabella|F|Bella,Izzy,Isabel
Theresa|F|Tess,Terri,Teresa
Diana|F|Di,Diane
Natalie|F|Nat,Nathalie
Brittany|F|Britt,Britney
Charlotte|F|Charlie,Lottie
Marie|F|Mary
Kayla|F|
Alexis|F|Lexi
Lori|F|Lorrie
Zoë|F|Zoe
Chloé|F|Chloe
Renée|F|Renee
Siobhán|F|Siobhan
Aoife|F|Eva
Priya|F|
Ananya|F|
Fatima|F|Fatimah,Fatma
Aisha|F|Ayesha,Aysha
Mei|F|May
Yuki|F|
Li|F|Lee
Ji-woo|F|Jiwoo
Linh|F|
Ekaterina|F|Katya,Yekaterina,Catherine
Olga|F|
Natalia|F|Natasha,Natalya
Agnieszka|F|Aga
Małgorzata|F|Malgorzata,Gosia
Sophie|F|Sophia,Sofie
Léa|F|Lea
Inès|F|Ines
Camille|F|
Lucía|F|Lucia,Lucy
Sofía|F|Sofia,Sophia
Valentina|F|Vale
Giulia|F|Julia
Francesca|F|Fran,Frankie
Ingrid|F|
Astrid|F|
Freya|F|Freja
Ngozi|F|
Amara|F|
Leila|F|Layla,Laila
Yasmin|F|Yasmine,Jasmine
Jasmine|F|Jas,Yasmin
Lily|F|Lillian,Lil
Ava|F|
Mia|F|
Ella|F|Ellie
Harper|F|
Scarlett|F|Scarlet
Chloe|F|Chloé
"""

# Surnames in rough popularity order. Accents and non-English names on purpose.
_SURNAMES: Final = """
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez
Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin
Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson
Walker Young Allen King Wright Scott Torres Nguyen Hill Flores
Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts
Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes
Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper
Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson
Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes
Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez
Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes
Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham
Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson
Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens
Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen
Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter
Gordon Mendez Silva Shaw Snyder Mason Dixon Muñoz Hunt Hicks
Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox
Warren Mills Meyer Rice Schmidt García Müller Schneider Fischer Weber
Schulz Becker Hoffmann Schäfer Koch Richter Klein Wolf Schröder Neumann
Dubois Lefèvre Moreau Laurent Bernard Girard Fournier Mercier Bérubé Côté
Gagné Bouchard Pérez Rodríguez Martínez López González Sánchez Ramírez Jiménez
Hernández Núñez Álvarez Gómez Díaz Gonçalves Silva Santos Oliveira Pereira
Ferreira Costa Rossi Russo Bianchi Ferrari Esposito Romano Colombo Ricci
Kowalski Nowak Wiśniewski Wójcik Kowalczyk Łukasiewicz Zieliński Dvořák Novák Horváth
Nagy Kovač Ivanov Petrov Smirnov Popov Sokolov Kuznetsov Shevchenko Bondarenko
Yılmaz Öztürk Şahin Demir Çelik Kaya Papadopoulos Georgiou Andersson Johansson
Karlsson Nilsson Eriksson Söderström Björk Lindqvist Hansen Jensen Nielsen Østergaard
O'Brien O'Connor O'Neill McCarthy Fitzgerald MacLeod McKenzie Doyle Byrne Walsh
Wang Li Zhang Liu Yang Huang Zhao Wu Zhou Xu
Park Choi Jung Kang Cho Yoon Jang Lim Han Shin
Tanaka Suzuki Sato Watanabe Takahashi Nakamura Kobayashi Yamamoto Ito Kato
Singh Kumar Sharma Shah Gupta Reddy Iyer Nair Mehta Chopra
Khan Ahmed Ali Hassan Hussein Rahman Malik Chaudhry Qureshi Siddiqui
Cohen Levi Friedman Katz Goldberg Rosenberg Shapiro Klein Adler Weiss
Okafor Adeyemi Mensah Okonkwo Nwosu Diallo Traoré Keita Abebe Mwangi
Pham Le Hoang Phan Vu Dang Bui Do Ngo Duong
Van der Berg|De la Cruz|Van Dyke|Da Silva|St. John|Smith-Jones|Garcia-Lopez|Del Rio
Le Blanc|Mac Donald
"""

# Spelling variants and transliterations of surnames seen across systems.
SURNAME_VARIANTS: Final[dict[str, tuple[str, ...]]] = {
    "Smith": ("Smyth", "Smithe"),
    "Meyer": ("Meier", "Mayer", "Maier"),
    "Müller": ("Mueller", "Muller"),
    "Schröder": ("Schroeder", "Schroder"),
    "Schäfer": ("Schaefer", "Schafer"),
    "Nguyen": ("Nguyễn", "Ngyuen"),
    "Thompson": ("Thomson",),
    "Johnson": ("Jonson", "Johnsen"),
    "Petersen": ("Peterson",),
    "Peterson": ("Petersen",),
    "McDonald": ("MacDonald", "Mc Donald"),
    "MacLeod": ("McLeod",),
    "O'Brien": ("OBrien", "O Brien"),
    "O'Connor": ("OConnor", "O'Conner"),
    "O'Neill": ("ONeill", "O'Neil"),
    "Ivanov": ("Ivanoff",),
    "Smirnov": ("Smirnoff",),
    "Shevchenko": ("Schewtschenko",),
    "Chaudhry": ("Chaudhary", "Choudhury"),
    "Mohammed": ("Muhammad",),
    "Van der Berg": ("Vandenberg", "van den Berg"),
    "De la Cruz": ("Delacruz", "dela Cruz"),
    "Le Blanc": ("LeBlanc", "Leblanc"),
    "Mac Donald": ("MacDonald", "McDonald"),
    "St. John": ("Saint John", "St John"),
    "Hussein": ("Hussain", "Husain"),
    "Rahman": ("Rehman",),
    "Yılmaz": ("Yilmaz",),
    "Łukasiewicz": ("Lukasiewicz",),
    "Kovač": ("Kovac", "Kovach"),
    "Gray": ("Grey",),
    "Reid": ("Reed",),
    "Reed": ("Reid",),
    "Cohen": ("Kohn", "Cohn"),
    "Katz": ("Kats",),
}

# ASCII folding of letters that Unicode decomposition does not split.
FOLD_EXTRA: Final[dict[str, str]] = {
    "Ł": "L",
    "ł": "l",
    "Ø": "O",
    "ø": "o",
    "ß": "ss",
    "Æ": "AE",
    "æ": "ae",
    "ı": "i",
    "Đ": "D",
    "đ": "d",
}

# German-style transliteration used by some ASCII systems.
TRANSLIT_DE: Final[dict[str, str]] = {
    "ä": "ae",
    "ö": "oe",
    "ü": "ue",
    "Ä": "Ae",
    "Ö": "Oe",
    "Ü": "Ue",
    "ß": "ss",
}

# QWERTY neighbours, used for realistic substitution typos.
KEYBOARD_NEIGHBOURS: Final[dict[str, str]] = {
    "q": "wa", "w": "qeas", "e": "wrds", "r": "etdf", "t": "ryfg", "y": "tugh",
    "u": "yihj", "i": "uojk", "o": "ipkl", "p": "ol", "a": "qwsz", "s": "awedxz",
    "d": "serfcx", "f": "drtgvc", "g": "ftyhbv", "h": "gyujnb", "j": "huikmn",
    "k": "jiolm", "l": "kop", "z": "asx", "x": "zsdc", "c": "xdfv", "v": "cfgb",
    "b": "vghn", "n": "bhjm", "m": "njk",
}  # fmt: skip

STREET_NAMES: Final = (
    "Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill",
    "Park", "Church", "High", "Mill", "Station", "Victoria", "Green", "Spring",
    "Sunset", "Highland", "Ridge", "Jefferson", "Lincoln", "Madison", "Franklin",
    "Walnut", "Chestnut", "Willow", "River", "Meadow", "Forest", "Valley", "Cherry",
    "Birch", "Center", "Market", "Union", "School", "North", "South", "West", "East",
    "King", "Queen", "Bridge", "Orchard", "Garden", "Prospect", "Lakeview", "Broad",
    "Front", "Water", "Grove", "Jackson", "Adams", "Monroe", "Hamilton", "Wilson",
    "Dogwood", "Magnolia", "Hickory", "Sycamore", "Laurel", "Aspen", "Juniper",
    "Poplar", "Locust", "Holly", "Ivy", "Harbor", "Bay", "Shore", "Canyon", "Mesa",
    "Summit", "Pleasant", "Fairview", "Woodland", "Heritage", "Liberty", "Colonial",
    "Windsor", "Cambridge", "Oxford", "York", "Albany", "Beacon", "Chapel", "Ferry",
    "Kensington", "Rosewood", "Brookside", "Riverside", "Hillcrest", "Crescent",
    "Schiller", "Goethe", "Rue de la Paix", "Wellington", "Nelson", "Elmwood",
)  # fmt: skip

# (full suffix, abbreviation, weight)
STREET_SUFFIXES: Final = (
    ("Street", "St", 0.30), ("Avenue", "Ave", 0.18), ("Road", "Rd", 0.15),
    ("Drive", "Dr", 0.10), ("Lane", "Ln", 0.08), ("Court", "Ct", 0.05),
    ("Boulevard", "Blvd", 0.04), ("Place", "Pl", 0.04), ("Way", "Way", 0.03),
    ("Terrace", "Ter", 0.02), ("Circle", "Cir", 0.01),
)  # fmt: skip

# Cities: (country, city, state, postcode prefix, phone area code, weight).
# US: ZIP3 prefix and a real area code; GB: postcode area; DE/FR: 2-digit prefix.
CITIES: Final = (
    ("US", "New York", "NY", "100", "212", 8.0),
    ("US", "Brooklyn", "NY", "112", "718", 5.0),
    ("US", "Los Angeles", "CA", "900", "213", 7.0),
    ("US", "Chicago", "IL", "606", "312", 6.0),
    ("US", "Houston", "TX", "770", "713", 5.0),
    ("US", "Phoenix", "AZ", "850", "602", 4.0),
    ("US", "Philadelphia", "PA", "191", "215", 4.0),
    ("US", "San Antonio", "TX", "782", "210", 3.5),
    ("US", "San Diego", "CA", "921", "619", 3.5),
    ("US", "Dallas", "TX", "752", "214", 3.5),
    ("US", "San Jose", "CA", "951", "408", 2.5),
    ("US", "Austin", "TX", "787", "512", 2.5),
    ("US", "Jacksonville", "FL", "322", "904", 2.0),
    ("US", "Columbus", "OH", "432", "614", 2.0),
    ("US", "Charlotte", "NC", "282", "704", 2.0),
    ("US", "San Francisco", "CA", "941", "415", 2.5),
    ("US", "Indianapolis", "IN", "462", "317", 2.0),
    ("US", "Seattle", "WA", "981", "206", 2.5),
    ("US", "Denver", "CO", "802", "303", 2.0),
    ("US", "Washington", "DC", "200", "202", 2.0),
    ("US", "Boston", "MA", "021", "617", 2.5),
    ("US", "Nashville", "TN", "372", "615", 1.5),
    ("US", "Detroit", "MI", "482", "313", 1.5),
    ("US", "Portland", "OR", "972", "503", 1.5),
    ("US", "Portland", "ME", "041", "207", 0.4),
    ("US", "Las Vegas", "NV", "891", "702", 1.5),
    ("US", "Memphis", "TN", "381", "901", 1.0),
    ("US", "Louisville", "KY", "402", "502", 1.0),
    ("US", "Baltimore", "MD", "212", "410", 1.2),
    ("US", "Milwaukee", "WI", "532", "414", 1.0),
    ("US", "Albuquerque", "NM", "871", "505", 0.8),
    ("US", "Tucson", "AZ", "857", "520", 0.8),
    ("US", "Fresno", "CA", "937", "559", 0.8),
    ("US", "Sacramento", "CA", "958", "916", 1.0),
    ("US", "Atlanta", "GA", "303", "404", 2.0),
    ("US", "Miami", "FL", "331", "305", 2.0),
    ("US", "Orlando", "FL", "328", "407", 1.2),
    ("US", "Tampa", "FL", "336", "813", 1.2),
    ("US", "Minneapolis", "MN", "554", "612", 1.2),
    ("US", "Cleveland", "OH", "441", "216", 1.0),
    ("US", "Pittsburgh", "PA", "152", "412", 1.0),
    ("US", "St. Louis", "MO", "631", "314", 1.0),
    ("US", "Kansas City", "MO", "641", "816", 1.0),
    ("US", "Omaha", "NE", "681", "402", 0.6),
    ("US", "Raleigh", "NC", "276", "919", 1.0),
    ("US", "Richmond", "VA", "232", "804", 0.7),
    ("US", "Salt Lake City", "UT", "841", "801", 0.7),
    ("US", "Newark", "NJ", "071", "973", 0.8),
    ("US", "Jersey City", "NJ", "073", "201", 0.6),
    ("US", "Buffalo", "NY", "142", "716", 0.6),
    ("US", "Hartford", "CT", "061", "860", 0.5),
    ("US", "Providence", "RI", "029", "401", 0.5),
    ("US", "Springfield", "IL", "627", "217", 0.4),
    ("US", "Springfield", "MA", "011", "413", 0.4),
    ("US", "Springfield", "MO", "658", "417", 0.4),
    ("US", "Columbia", "SC", "292", "803", 0.5),
    ("US", "Madison", "WI", "537", "608", 0.5),
    ("US", "Boise", "ID", "837", "208", 0.4),
    ("US", "Anchorage", "AK", "995", "907", 0.3),
    ("US", "Honolulu", "HI", "968", "808", 0.4),
    ("GB", "London", "", "SW", "20", 5.0),
    ("GB", "London", "", "N", "20", 3.0),
    ("GB", "London", "", "E", "20", 3.0),
    ("GB", "Manchester", "", "M", "161", 2.0),
    ("GB", "Birmingham", "", "B", "121", 2.0),
    ("GB", "Leeds", "", "LS", "113", 1.2),
    ("GB", "Glasgow", "", "G", "141", 1.2),
    ("GB", "Edinburgh", "", "EH", "131", 1.0),
    ("GB", "Bristol", "", "BS", "117", 1.0),
    ("GB", "Liverpool", "", "L", "151", 1.0),
    ("GB", "Cardiff", "", "CF", "29", 0.8),
    ("GB", "Belfast", "", "BT", "28", 0.6),
    ("DE", "Berlin", "BE", "10", "30", 3.0),
    ("DE", "Hamburg", "HH", "20", "40", 2.0),
    ("DE", "München", "BY", "80", "89", 2.0),
    ("DE", "Köln", "NW", "50", "221", 1.5),
    ("DE", "Frankfurt am Main", "HE", "60", "69", 1.2),
    ("DE", "Stuttgart", "BW", "70", "711", 1.0),
    ("DE", "Düsseldorf", "NW", "40", "211", 1.0),
    ("DE", "Leipzig", "SN", "04", "341", 0.8),
    ("FR", "Paris", "IDF", "75", "1", 4.0),
    ("FR", "Marseille", "PAC", "13", "4", 1.5),
    ("FR", "Lyon", "ARA", "69", "4", 1.5),
    ("FR", "Toulouse", "OCC", "31", "5", 1.0),
    ("FR", "Nice", "PAC", "06", "4", 0.8),
    ("FR", "Nantes", "PDL", "44", "2", 0.8),
    ("FR", "Strasbourg", "GES", "67", "3", 0.7),
    ("FR", "Bordeaux", "NAQ", "33", "5", 0.8),
)

US_STATE_NAMES: Final[dict[str, str]] = {
    "NY": "New York", "CA": "California", "IL": "Illinois", "TX": "Texas",
    "AZ": "Arizona", "PA": "Pennsylvania", "FL": "Florida", "OH": "Ohio",
    "NC": "North Carolina", "IN": "Indiana", "WA": "Washington", "CO": "Colorado",
    "DC": "District of Columbia", "MA": "Massachusetts", "TN": "Tennessee",
    "MI": "Michigan", "OR": "Oregon", "ME": "Maine", "NV": "Nevada",
    "KY": "Kentucky", "MD": "Maryland", "WI": "Wisconsin", "NM": "New Mexico",
    "GA": "Georgia", "MN": "Minnesota", "MO": "Missouri", "NE": "Nebraska",
    "VA": "Virginia", "UT": "Utah", "NJ": "New Jersey", "CT": "Connecticut",
    "RI": "Rhode Island", "SC": "South Carolina", "ID": "Idaho", "AK": "Alaska",
    "HI": "Hawaii",
}  # fmt: skip

# Personal e-mail providers: (domain, weight, country or "" for everywhere).
EMAIL_DOMAINS: Final = (
    ("gmail.com", 38.0, ""), ("yahoo.com", 11.0, ""), ("hotmail.com", 9.0, ""),
    ("outlook.com", 7.0, ""), ("icloud.com", 6.0, ""), ("aol.com", 3.0, "US"),
    ("comcast.net", 2.5, "US"), ("att.net", 1.5, "US"), ("verizon.net", 1.0, "US"),
    ("protonmail.com", 1.5, ""), ("me.com", 1.0, ""), ("msn.com", 1.0, ""),
    ("live.com", 1.0, ""), ("yahoo.co.uk", 3.0, "GB"), ("btinternet.com", 2.0, "GB"),
    ("gmx.de", 3.0, "DE"), ("web.de", 3.0, "DE"), ("t-online.de", 1.5, "DE"),
    ("orange.fr", 3.0, "FR"), ("free.fr", 2.0, "FR"), ("laposte.net", 1.0, "FR"),
)  # fmt: skip

COMPANIES: Final = (
    "Acme Corporation", "Globex", "Initech", "Umbrella Health", "Stark Industries",
    "Wayne Enterprises", "Hooli", "Vandelay Industries", "Soylent", "Cyberdyne Systems",
    "Massive Dynamic", "Tyrell", "Wonka Foods", "Gringotts Bank", "Oceanic Airlines",
    "Dunder Mifflin", "Pied Piper", "Bluth Company", "Prestige Worldwide", "Aperture Labs",
    "Northwind Traders", "Contoso", "Fabrikam", "Adventure Works", "Litware",
    "Tailspin Toys", "Wide World Importers", "Blue Yonder Airlines", "Coho Winery",
    "Lucerne Publishing", "Proseware", "Trey Research", "Alpine Ski House",
    "Fourth Coffee", "Graphic Design Institute", "Margie's Travel", "City Power & Light",
    "Southridge Video", "Woodgrove Bank", "Relecloud", "Nod Publishers", "Humongous Insurance",
    "Lamna Healthcare", "Wingtip Toys", "First Up Consultants", "VanArsdel", "Datum Corp",
    "Bellows College", "Munson's Pickles", "Greenleaf Logistics", "Brightside Energy",
    "Redwood Analytics", "Silverline Media", "Harborview Medical", "Keystone Builders",
    "Summit Partners", "Northstar Freight", "Clearwater Labs", "Ironclad Security",
    "Maple Leaf Foods", "Crescent Hotels", "Evergreen Schools", "Pinnacle Retail",
)  # fmt: skip

COMPANY_SUFFIXES: Final = ("Inc", "Inc.", "LLC", "Ltd", "Corp", "GmbH", "S.A.", "Co.")

# Junk values that many unrelated records share.
JUNK_EMAILS: Final = ("test@test.com", "noemail@noemail.com", "none@none.com", "na@na.com")
JUNK_PHONES: Final = ("0000000000", "1234567890", "9999999999", "5555555555")
JUNK_POSTCODES: Final = ("00000", "99999", "11111")
JUNK_DOB: Final = ("1900-01-01", "1970-01-01")
JUNK_NAMES: Final = ("Test", "Unknown", "N/A", "Customer")


def first_names() -> list[tuple[str, str, tuple[str, ...]]]:
    """Parse the first-name table: (name, gender, variants) in popularity order."""
    out = []
    for line in _FIRST_NAMES.strip().splitlines():
        name, gender, listed = line.split("|")
        out.append((name, gender, tuple(v for v in listed.split(",") if v)))
    # A name listed twice (e.g. a data-entry duplicate) keeps its first entry.
    seen: set[tuple[str, str]] = set()
    unique = []
    for name, gender, variants in out:
        if (name, gender) not in seen:
            seen.add((name, gender))
            unique.append((name, gender, variants))
    return unique


def surnames() -> list[str]:
    """Parse the surname table in popularity order (duplicates removed)."""
    names: list[str] = []
    for line in _SURNAMES.strip().splitlines():
        parts = line.split("|") if "|" in line else line.split()
        names.extend(p.strip() for p in parts if p.strip())
    return list(dict.fromkeys(names))
