"""Realistic export headers with the mapping a person would choose, and values to match.

Each set is a list of ``(header, expected role or None, value kind)``; the
values are generated per kind (``make_frame``). Sets imitate CRM, billing,
e-commerce, support-desk and newsletter exports in English, German, French,
Spanish, Dutch and Portuguese, with decoy columns that must stay unmapped:
someone else's e-mail or phone, a company's phone, log-in and creation
dates, flags about a field.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import polars as pl

# fmt: off
CORPUS: dict[str, list[tuple[str, str | None, str]]] = {
    "crm_en_salesforce": [
        ("Contact ID", "record_id", "id"), ("First Name", "first_name", "first"),
        ("Last Name", "last_name", "last"), ("Email", "email", "email"),
        ("Phone", "phone", "phone"), ("Mailing Street", "address_line1", "addr1"),
        ("Mailing City", "city", "city"), ("Mailing State/Province", "state", "state"),
        ("Mailing Zip/Postal Code", "postcode", "zip"), ("Mailing Country", "country", "country"),
        ("Birthdate", "date_of_birth", "dob"), ("Account Name", "company", "company"),
        ("Created By Email", None, "email"), ("Last Modified Date", "updated_at", "updated"),
        ("Created Date", None, "created"),
    ],
    "crm_en_hubspot": [
        ("Record ID", "record_id", "id"), ("First Name", "first_name", "first"),
        ("Last Name", "last_name", "last"), ("Email", "email", "email"),
        ("Phone Number", "phone", "phone"), ("Company Name", "company", "company"),
        ("Company Phone", None, "phone"), ("Contact owner", None, "full"),
        ("Street Address", "address_line1", "addr1"), ("City", "city", "city"),
        ("Postal Code", "postcode", "zip"), ("Last Activity Date", "updated_at", "login"),
        ("Lifecycle Stage", None, "text"),
    ],
    "crm_export_issue_example": [
        ("Contact ID", "record_id", "id"), ("First Name", "first_name", "first"),
        ("Last Name", "last_name", "last"), ("E-mail Address", "email", "email"),
        ("Phone Number", "phone", "phone"), ("DOB", "date_of_birth", "dob"),
        ("Zip", "postcode", "zip"),
    ],
    "billing_en_stripe": [
        ("id", "record_id", "id"), ("Description", None, "text"), ("Email", "email", "email"),
        ("Name", "full_name", "full"), ("Phone", "phone", "phone"),
        ("Address Line1", "address_line1", "addr1"), ("Address Line2", "address_line2", "addr2"),
        ("Address City", "city", "city"), ("Address State", "state", "state"),
        ("Address Postal Code", "postcode", "zip"), ("Address Country", "country", "country"),
        ("Created (UTC)", None, "created"), ("Balance", None, "money"),
        ("Delinquent", None, "flag"),
    ],
    "billing_en_invoice": [
        ("Customer Number", "record_id", "id"), ("Customer Name", "full_name", "full"),
        ("Billing Address", "address_line1", "addr1"), ("Billing City", "city", "city"),
        ("Billing Zip", "postcode", "zip"), ("Tel.", "phone", "phone"),
        ("Invoice Email", None, "email"), ("Payment Terms", None, "text"),
        ("Last Invoice Date", None, "login"),
    ],
    "ecommerce_en_shopify": [
        ("Customer ID", "record_id", "id"), ("First Name", "first_name", "first"),
        ("Last Name", "last_name", "last"), ("Email", "email", "email"),
        ("Accepts Email Marketing", None, "flag"),
        ("Default Address Company", "company", "company"),
        ("Default Address Address1", "address_line1", "addr1"),
        ("Default Address Address2", "address_line2", "addr2"),
        ("Default Address City", "city", "city"),
        ("Default Address Province Code", "state", "state"),
        ("Default Address Country Code", "country", "country"),
        ("Default Address Zip", "postcode", "zip"), ("Phone", "phone", "phone"),
        ("Total Spent", None, "money"), ("Total Orders", None, "int"),
    ],
    "ecommerce_en_woo": [
        ("user_id", "record_id", "id"), ("billing_first_name", "first_name", "first"),
        ("billing_last_name", "last_name", "last"), ("billing_email", "email", "email"),
        ("billing_phone", "phone", "phone"), ("billing_address_1", "address_line1", "addr1"),
        ("billing_address_2", "address_line2", "addr2"), ("billing_city", "city", "city"),
        ("billing_postcode", "postcode", "zip"), ("billing_country", "country", "country"),
        ("date_registered", None, "created"), ("orders", None, "int"),
    ],
    "support_en_zendesk": [
        ("Requester id", "record_id", "id"), ("Requester", "full_name", "full"),
        ("Requester email", "email", "email"), ("Requester phone", "phone", "phone"),
        ("Assignee email", None, "email"), ("Organization", "company", "company"),
        ("Created at", None, "created"), ("Updated at", "updated_at", "updated"),
        ("Subject", None, "text"),
    ],
    "support_en_freshdesk": [
        ("Contact ID", "record_id", "id"), ("Full name", "full_name", "full"),
        ("Work phone", None, "phone"), ("Mobile phone", "phone", "phone"),
        ("Email", "email", "email"), ("Agent Email", None, "email"),
        ("Last login", None, "login"), ("Time zone", None, "text"),
    ],
    "newsletter_en_mailchimp": [
        ("Email Address", "email", "email"), ("First Name", "first_name", "first"),
        ("Last Name", "last_name", "last"), ("Address", "address_line1", "addr1"),
        ("Phone Number", "phone", "phone"), ("Birthday", "date_of_birth", "dob"),
        ("MEMBER_RATING", None, "int"), ("OPTIN_TIME", None, "created"),
        ("CONFIRM_IP", None, "text"), ("LAST_CHANGED", "updated_at", "updated"),
        ("LEID", None, "id"),
    ],
    "newsletter_en_minimal": [
        ("email", "email", "email"), ("name", "full_name", "full"),
        ("subscribed_on", None, "created"), ("email_opt_in", None, "flag"),
    ],
    "patients_en": [
        ("Patient ID", "record_id", "id"), ("Surname", "last_name", "last"),
        ("Given Name", "first_name", "first"), ("Middle Initial", "middle_name", "middle"),
        ("Date of Birth", "date_of_birth", "dob"), ("SSN", "national_id", "ssn"),
        ("Home Phone", "phone", "phone"), ("Emergency Contact Phone", None, "phone"),
        ("Street", "address_line1", "addr1"), ("Town", "city", "city"),
        ("County", "state", "state"), ("Post Code", "postcode", "zip"),
    ],
    "members_en_camel": [
        ("MemberId", "record_id", "id"), ("FirstName", "first_name", "first"),
        ("LastName", "last_name", "last"), ("EmailAddr", "email", "email"),
        ("MobileNo", "phone", "phone"), ("BirthDate", "date_of_birth", "dob"),
        ("ZipCode", "postcode", "zip"), ("LastModified", "updated_at", "updated"),
        ("ReferrerEmail", None, "email"),
    ],
    "legacy_en_numbered": [
        ("CUST_NO", "record_id", "id"), ("FNAME", "first_name", "first"),
        ("LNAME", "last_name", "last"), ("EMAIL_1", "email", "email"),
        ("EMAIL_2", None, "email"), ("PHONE_1", "phone", "phone"), ("PHONE_2", None, "phone"),
        ("ADDR1", "address_line1", "addr1"), ("ADDR2", "address_line2", "addr2"),
        ("CITY", "city", "city"), ("ST", None, "state"), ("ZIP", "postcode", "zip"),
    ],
    "crm_de": [
        ("Kundennummer", "record_id", "id"), ("Vorname", "first_name", "first"),
        ("Nachname", "last_name", "last"), ("E-Mail-Adresse", "email", "email"),
        ("Telefon", "phone", "phone"), ("Straße", "address_line1", "addr1"),
        ("PLZ", "postcode", "zip"), ("Ort", "city", "city"), ("Land", "country", "country"),
        ("Geburtsdatum", "date_of_birth", "dob"), ("Firma", "company", "company"),
        ("Zuletzt geändert", "updated_at", "updated"), ("Erstellt von E-Mail", None, "email"),
    ],
    "shop_de": [
        ("Kunden-ID", "record_id", "id"), ("Vorname", "first_name", "first"),
        ("Familienname", "last_name", "last"), ("E-Mail", "email", "email"),
        ("Handynummer", "phone", "phone"), ("Anschrift", "address_line1", "addr1"),
        ("Adresszusatz", "address_line2", "addr2"), ("Postleitzahl", "postcode", "zip"),
        ("Wohnort", "city", "city"), ("Bundesland", "state", "state"),
        ("Newsletter", None, "flag"), ("Bestellungen", None, "int"),
    ],
    "support_de": [
        ("Ticket-Nr", None, "id"), ("Kunde", "full_name", "full"),
        ("Kunden E-Mail", "email", "email"), ("Telefonnummer", "phone", "phone"),
        ("Bearbeiter", None, "full"), ("Erstellt am", None, "created"),
    ],
    "crm_fr": [
        ("Identifiant", "record_id", "id"), ("Prénom", "first_name", "first"),
        ("Nom", "last_name", "last"), ("Courriel", "email", "email"),
        ("Téléphone", "phone", "phone"), ("Adresse", "address_line1", "addr1"),
        ("Code postal", "postcode", "zip"), ("Ville", "city", "city"),
        ("Pays", "country", "country"), ("Date de naissance", "date_of_birth", "dob"),
        ("Société", "company", "company"), ("Date de modification", "updated_at", "updated"),
    ],
    "shop_fr": [
        ("N° client", "record_id", "id"), ("Nom complet", "full_name", "full"),
        ("Adresse e-mail", "email", "email"), ("Portable", "phone", "phone"),
        ("Complément d'adresse", "address_line2", "addr2"), ("Rue", "address_line1", "addr1"),
        ("CP", "postcode", "zip"), ("Commune", "city", "city"),
        ("Créé par", None, "full"), ("Montant total", None, "money"),
    ],
    "crm_es": [
        ("ID Cliente", "record_id", "id"), ("Nombre", "first_name", "first"),
        ("Apellidos", "last_name", "last"), ("Correo electrónico", "email", "email"),
        ("Teléfono", "phone", "phone"), ("Dirección", "address_line1", "addr1"),
        ("Código postal", "postcode", "zip"), ("Ciudad", "city", "city"),
        ("Provincia", "state", "state"), ("País", "country", "country"),
        ("Fecha de nacimiento", "date_of_birth", "dob"), ("DNI", "national_id", "dni"),
        ("Empresa", "company", "company"), ("Última modificación", "updated_at", "updated"),
    ],
    "billing_es": [
        ("Número de cliente", "record_id", "id"), ("Nombre completo", "full_name", "full"),
        ("Móvil", "phone", "phone"), ("Correo", "email", "email"),
        ("Calle", "address_line1", "addr1"), ("Localidad", "city", "city"),
        ("CP", "postcode", "zip"), ("Fecha de alta", None, "created"),
        ("Importe", None, "money"),
    ],
    "crm_nl": [
        ("Klantnummer", "record_id", "id"), ("Voornaam", "first_name", "first"),
        ("Achternaam", "last_name", "last"), ("E-mailadres", "email", "email"),
        ("Telefoonnummer", "phone", "phone"), ("Straat", "address_line1", "addr1"),
        ("Postcode", "postcode", "zip"), ("Woonplaats", "city", "city"),
        ("Land", "country", "country"), ("Geboortedatum", "date_of_birth", "dob"),
        ("Bedrijfsnaam", "company", "company"), ("Laatst gewijzigd", "updated_at", "updated"),
        ("BSN", "national_id", "bsn"),
    ],
    "shop_nl": [
        ("Klant ID", "record_id", "id"), ("Naam", "full_name", "full"),
        ("E-mail", "email", "email"), ("Mobiel", "phone", "phone"), ("Adres", "address_line1", "addr1"),
        ("Plaats", "city", "city"), ("Provincie", "state", "state"),
        ("Aangemaakt door", None, "full"), ("Aantal bestellingen", None, "int"),
    ],
    "crm_pt_br": [
        ("Código do cliente", "record_id", "id"), ("Nome", "first_name", "first"),
        ("Sobrenome", "last_name", "last"), ("E-mail", "email", "email"),
        ("Telefone", "phone", "phone"), ("Endereço", "address_line1", "addr1"),
        ("Complemento", "address_line2", "addr2"), ("Cidade", "city", "city"),
        ("Estado", "state", "state"), ("CEP", "postcode", "zip"),
        ("CPF", "national_id", "cpf"), ("Data de nascimento", "date_of_birth", "dob"),
        ("Atualizado em", "updated_at", "updated"),
    ],
    "shop_pt": [
        ("Número do cliente", "record_id", "id"), ("Nome completo", "full_name", "full"),
        ("Telemóvel", "phone", "phone"), ("Email", "email", "email"),
        ("Morada", "address_line1", "addr1"), ("Localidade", "city", "city"),
        ("Código postal", "postcode", "zip"), ("País", "country", "country"),
        ("Data de registo", None, "created"),
    ],
    "values_only_no_headers": [
        ("col1", None, "id"), ("col2", None, "full"), ("col3", "email", "email"),
        ("col4", "phone", "phone"), ("col5", None, "text"),
    ],
    "no_key_signup_form": [
        ("Your name", "full_name", "full"), ("Your email", "email", "email"),
        ("Phone (optional)", "phone", "phone"), ("Message", None, "text"),
        ("Submitted", None, "created"),
    ],
    "event_signups_en": [
        ("Attendee ID", "record_id", "id"), ("First", "first_name", "first"),
        ("Last", "last_name", "last"), ("Email", "email", "email"),
        ("Company", "company", "company"), ("Job Title", None, "text"),
        ("Registration Date", None, "created"), ("Ticket Type", None, "text"),
    ],
    "loyalty_en_snake": [
        ("member_id", "record_id", "id"), ("given_name", "first_name", "first"),
        ("family_name", "last_name", "last"), ("middle_name", "middle_name", "middle"),
        ("email_address", "email", "email"), ("mobile_number", "phone", "phone"),
        ("date_of_birth", "date_of_birth", "dob"), ("postal_code", "postcode", "zip"),
        ("points_balance", None, "int"), ("last_login_at", None, "login"),
        ("updated_at", "updated_at", "updated"),
    ],
    "canonical_already": [
        ("record_id", "record_id", "id"), ("first_name", "first_name", "first"),
        ("last_name", "last_name", "last"), ("email", "email", "email"),
        ("phone", "phone", "phone"), ("date_of_birth", "date_of_birth", "dob"),
        ("postcode", "postcode", "zip"), ("city", "city", "city"),
    ],
    "insurance_uk": [
        ("Policyholder Ref", None, "id"), ("Title", None, "title"),
        ("Forename", "first_name", "first"), ("Surname", "last_name", "last"),
        ("NI Number", "national_id", "nino"), ("D.O.B.", "date_of_birth", "dob"),
        ("Postcode", "postcode", "zip"), ("Telephone", "phone", "phone"),
        ("Broker Email", None, "email"),
    ],
    "gym_members_mixed": [
        ("ID", "record_id", "id"), ("Name", "full_name", "full"),
        ("E-mail", "email", "email"), ("Cell", "phone", "phone"),
        ("Emergency Contact Name", None, "full"), ("Emergency Contact Phone", None, "phone"),
        ("Birthday", "date_of_birth", "dob"), ("Join Date", None, "created"),
    ],
}
# fmt: on

_FIRST = ["Ann", "Bob", "Carla", "Dmitri", "Eva", "Farid", "Grace", "Hugo", "Inès", "José",
          "Karin", "Lars", "Maria", "Noah", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Thijs"]  # fmt: skip
_LAST = ["Lee", "Meyer", "García", "Dubois", "de Vries", "Silva", "Novak", "O'Neil",
         "Schmidt", "Rossi", "Jansen", "Costa", "Martin", "Smith", "Kowalski", "Bakker"]  # fmt: skip
_CITY = ["Berlin", "Paris", "Madrid", "Amsterdam", "Lisbon", "Boston", "Leeds", "Porto",
         "Utrecht", "Lyon", "Sevilla", "Hamburg"]  # fmt: skip
_STATE = ["CA", "NY", "TX", "Bayern", "Hessen", "Madrid", "Noord-Holland", "SP", "RJ"]
_COUNTRY = ["US", "DE", "France", "España", "Nederland", "Portugal", "Brazil", "GB"]
_COMPANY = ["Acme Corp", "Globex GmbH", "Initech", "Umbrella BV", "Soylent SA", "Hooli"]
_STREET = ["Main St", "Hauptstraße", "Rue de la Paix", "Calle Mayor", "Kerkstraat", "Rua Augusta"]


def _value(kind: str, rng: random.Random, i: int) -> str | None:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    if kind == "id":
        return f"{10000 + i}"
    if kind == "first":
        return first
    if kind == "last":
        return last
    if kind == "middle":
        return rng.choice([None, "J", "M.", "Anne", "K"])
    if kind in ("full",):
        return f"{first} {last}"
    if kind == "title":
        return rng.choice(["Mr", "Mrs", "Ms", "Dr"])
    if kind == "email":
        return f"{first.lower()}.{last.lower().replace(' ', '').replace(chr(39), '')}{i}@example.{rng.choice(['com', 'de', 'fr', 'nl'])}"
    if kind == "phone":
        return rng.choice(
            [f"+1 212 555 {i % 10000:04d}", f"030 {rng.randint(1000000, 9999999)}",
             f"(415) 555-{i % 10000:04d}", f"+33 6 12 34 {i % 100:02d} {i % 97:02d}",
             f"06-{rng.randint(10000000, 99999999)}"]
        )  # fmt: skip
    if kind == "dob":
        d = date(1940, 1, 1) + timedelta(days=rng.randint(0, 60 * 365))
        return d.strftime(rng.choice(["%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y"]))
    if kind == "addr1":
        return f"{rng.randint(1, 250)} {rng.choice(_STREET)}"
    if kind == "addr2":
        return rng.choice([None, f"Apt {rng.randint(1, 40)}", f"Suite {rng.randint(100, 900)}"])
    if kind == "city":
        return rng.choice(_CITY)
    if kind == "state":
        return rng.choice(_STATE)
    if kind == "zip":
        return rng.choice([f"{rng.randint(10000, 99999)}", f"{rng.randint(1000, 9999)} AB",
                           f"LS{rng.randint(1, 9)} {rng.randint(1, 9)}DX"])  # fmt: skip
    if kind == "country":
        return rng.choice(_COUNTRY)
    if kind == "company":
        return rng.choice(_COMPANY)
    if kind == "ssn":
        return f"{rng.randint(100, 899)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"
    if kind == "dni":
        return f"{rng.randint(10000000, 99999999)}{rng.choice('TRWAGMYFPDXBNJZSQVHLCKE')}"
    if kind == "bsn":
        return f"{rng.randint(100000000, 999999999)}"
    if kind == "cpf":
        return f"{rng.randint(100, 999)}.{rng.randint(100, 999)}.{rng.randint(100, 999)}-{rng.randint(10, 99)}"
    if kind == "nino":
        return f"{rng.choice(['AB', 'CE', 'JK'])}{rng.randint(100000, 999999)}{rng.choice('ABCD')}"
    if kind in ("updated", "created", "login"):
        t = datetime(2022, 1, 1) + timedelta(minutes=rng.randint(0, 3 * 365 * 24 * 60))
        return t.strftime("%Y-%m-%d %H:%M:%S")
    if kind == "flag":
        return rng.choice(["yes", "no", "true", "false"])
    if kind == "int":
        return str(rng.randint(0, 40))
    if kind == "money":
        return f"{rng.randint(0, 5000)}.{rng.randint(0, 99):02d}"
    return rng.choice(["call back", "VIP", "", "moved abroad", "see ticket", None])


def make_frame(name: str, rows: int = 300, seed: int = 0) -> pl.DataFrame:
    """The set's columns as text, ``rows`` rows of values of each column's kind."""
    rng = random.Random(f"{name}-{seed}")
    spec = {**CORPUS, **HOLDOUT}[name]
    data = {header: [_value(kind, rng, i) for i in range(rows)] for header, _, kind in spec}
    return pl.DataFrame(data, schema={h: pl.String for h, _, _ in spec})


def expected(name: str) -> dict[str, str]:
    """``header -> role`` a person would map (unmapped columns left out)."""
    return {h: r for h, r, _ in {**CORPUS, **HOLDOUT}[name] if r is not None}


# Written after the inference was tuned on CORPUS and never tuned on: its
# figures are the honest estimate for exports nobody has seen.
# fmt: off
HOLDOUT: dict[str, list[tuple[str, str | None, str]]] = {
    "dynamics_en": [
        ("(Do Not Modify) Contact", "record_id", "id"), ("Full Name", "full_name", "full"),
        ("Email", "email", "email"), ("Business Phone", "phone", "phone"),
        ("Mobile Phone", None, "phone"), ("Address 1: Street 1", "address_line1", "addr1"),
        ("Address 1: City", "city", "city"), ("Address 1: ZIP/Postal Code", "postcode", "zip"),
        ("Owner", None, "full"), ("Modified On", "updated_at", "updated"),
    ],
    "pipedrive_en": [
        ("Person - ID", "record_id", "id"), ("Person - Name", "full_name", "full"),
        ("Person - Email - Work", "email", "email"), ("Person - Phone - Mobile", "phone", "phone"),
        ("Person - Organization", "company", "company"), ("Person - Owner", None, "full"),
        ("Person - Update time", "updated_at", "updated"),
    ],
    "mailing_de": [
        ("Anrede", None, "title"), ("Vorname", "first_name", "first"),
        ("Name", "last_name", "last"), ("E-Mail", "email", "email"),
        ("Abmeldedatum", None, "created"), ("Mobil", "phone", "phone"),
    ],
    "club_fr": [
        ("Numéro adhérent", "record_id", "id"), ("NOM", "last_name", "last"),
        ("PRENOM", "first_name", "first"), ("Né(e) le", "date_of_birth", "dob"),
        ("Email", "email", "email"), ("Tél portable", "phone", "phone"),
        ("Code Postal", "postcode", "zip"), ("Ville", "city", "city"),
    ],
    "clinic_es": [
        ("Nº Historia", None, "id"), ("Nombre", "first_name", "first"),
        ("Primer apellido", "last_name", "last"), ("Segundo apellido", None, "last"),
        ("NIF", "national_id", "dni"), ("Fecha nac.", "date_of_birth", "dob"),
        ("Teléfono móvil", "phone", "phone"), ("Email", "email", "email"),
    ],
    "webshop_nl": [
        ("Bestelnummer", None, "id"), ("Voornaam", "first_name", "first"),
        ("Tussenvoegsel", None, "middle"), ("Achternaam", "last_name", "last"),
        ("Straatnaam", "address_line1", "addr1"), ("Huisnummer", None, "int"),
        ("Postcode", "postcode", "zip"), ("Plaats", "city", "city"),
        ("E-mailadres", "email", "email"), ("Telefoon", "phone", "phone"),
    ],
    "ecommerce_pt": [
        ("ID do cliente", "record_id", "id"), ("Nome", "first_name", "first"),
        ("Apelido", "last_name", "last"), ("Email", "email", "email"),
        ("Contacto", "phone", "phone"), ("NIF", "national_id", "bsn"),
        ("Morada de faturação", "address_line1", "addr1"), ("Código Postal", "postcode", "zip"),
    ],
    "saas_users_en": [
        ("uuid", "record_id", "id"), ("display_name", "full_name", "full"),
        ("primary_email", "email", "email"), ("secondary_email", None, "email"),
        ("signup_ip", None, "text"), ("last_seen_at", None, "login"),
        ("country_code", "country", "country"),
    ],
}
# fmt: on
