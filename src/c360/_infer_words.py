"""Header words for column-role inference: synonyms per role, and qualifiers.

Data, not logic (see ``c360._infer``): names of each canonical field in
English, German, French, Spanish, Dutch and Portuguese, normalised as
``normalise_header`` does (lower case, no accents or punctuation, words split
by spaces), each with a weight; and the words that make a header about
someone or something else than the customer.
"""

from __future__ import annotations

__all__ = ["QUALIFIERS", "SYNONYMS"]

# fmt: off
#: Header synonyms per role, normalised (see normalise_header), with a weight:
#: 1.0 for the usual names of the field, less for names that usually mean it.
SYNONYMS: dict[str, dict[str, float]] = {
    "record_id": {
        "id": 1.0, "record id": 1.0, "customer id": 1.0, "contact id": 1.0, "client id": 1.0,
        "customer number": 1.0, "customer no": 1.0, "customer nr": 1.0, "account id": 0.95,
        "account number": 0.9, "account no": 0.9, "account nr": 0.9, "member id": 1.0,
        "user id": 0.95, "lead id": 1.0,
        "subscriber id": 1.0, "person id": 1.0, "patient id": 1.0, "cust id": 1.0, "key": 0.8,
        "kundennummer": 1.0, "kunden id": 1.0, "kundennr": 1.0, "kunde id": 1.0,
        "kunden nr": 1.0, "numero client": 1.0, "id client": 1.0, "identifiant": 0.95,
        "numero de client": 1.0, "numero cliente": 1.0, "id cliente": 1.0,
        "numero de cliente": 1.0, "codigo cliente": 1.0, "codigo de cliente": 1.0,
        "klantnummer": 1.0, "klant id": 1.0, "klantnr": 1.0, "relatienummer": 1.0,
        "numero do cliente": 1.0, "codigo do cliente": 1.0, "contact number": 0.6,
        "cust no": 1.0, "cust nr": 1.0, "cust num": 1.0, "cust number": 1.0,
        "customer num": 1.0, "n client": 1.0, "no client": 1.0, "nr client": 1.0,
        "n cliente": 1.0, "no cliente": 1.0, "kd nr": 1.0, "uuid": 0.95, "guid": 0.95,
        "member number": 1.0, "membership number": 1.0, "membership id": 1.0,
        "mitgliedsnummer": 1.0, "numero adherent": 1.0, "adherent": 0.8,
        "numero de socio": 1.0, "socio": 0.8, "lidnummer": 1.0, "numero de membro": 1.0,
    },
    "first_name": {
        "first name": 1.0, "firstname": 1.0, "given name": 1.0, "forename": 1.0, "fname": 1.0,
        "first": 0.9, "christian name": 0.9, "vorname": 1.0, "prenom": 1.0, "nombre": 0.9,
        "primer nombre": 1.0, "voornaam": 1.0, "primeiro nome": 1.0, "nome": 0.8,
        "nome proprio": 1.0, "roepnaam": 0.9,
    },
    "middle_name": {
        "middle name": 1.0, "middlename": 1.0, "middle initial": 1.0, "mi": 0.9,
        "middle": 0.9, "second name": 0.8, "zweiter vorname": 1.0, "deuxieme prenom": 1.0,
        "second prenom": 1.0, "segundo nombre": 1.0, "tweede voornaam": 1.0,
        "nome do meio": 1.0, "segundo nome": 1.0,
    },
    "last_name": {
        "last name": 1.0, "lastname": 1.0, "surname": 1.0, "family name": 1.0, "lname": 1.0,
        "last": 0.9, "nachname": 1.0, "familienname": 1.0, "zuname": 1.0, "nom": 0.9,
        "nom de famille": 1.0, "apellido": 1.0, "apellidos": 1.0, "primer apellido": 1.0,
        "achternaam": 1.0, "familienaam": 1.0, "sobrenome": 1.0, "apelido": 1.0,
        "ultimo nome": 1.0,
    },
    "full_name": {
        "full name": 1.0, "fullname": 1.0, "name": 0.9, "customer name": 1.0,
        "contact name": 1.0, "client name": 1.0, "person name": 1.0, "display name": 0.9,
        "complete name": 1.0, "member name": 1.0, "subscriber name": 1.0, "requester": 0.8,
        "requester name": 1.0, "vollstandiger name": 1.0, "kundenname": 1.0, "name kunde": 1.0,
        "kunde": 0.9, "client": 0.8, "cliente": 0.8, "klant": 0.8,
        "nom complet": 1.0, "nom du client": 1.0, "nombre completo": 1.0,
        "nombre del cliente": 1.0, "volledige naam": 1.0, "naam": 0.9, "klantnaam": 1.0,
        "nome completo": 1.0, "nome do cliente": 1.0,
    },
    "email": {
        "email": 1.0, "e mail": 1.0, "email address": 1.0, "e mail address": 1.0,
        "email addr": 1.0, "mail": 0.9, "mail address": 0.95, "emailaddress": 1.0,
        "contact email": 0.95, "primary email": 0.95, "personal email": 0.9,
        "e mail adresse": 1.0, "email adresse": 1.0, "emailadresse": 1.0, "courriel": 1.0,
        "adresse e mail": 1.0, "adresse email": 1.0, "adresse mail": 1.0, "correo": 1.0,
        "correo electronico": 1.0, "email adres": 1.0, "e mailadres": 1.0, "emailadres": 1.0,
        "endereco de email": 1.0, "endereco de e mail": 1.0, "endereco email": 1.0,
    },
    "phone": {
        "phone": 1.0, "phone number": 1.0, "telephone": 1.0, "telephone number": 1.0,
        "tel": 1.0, "phone no": 1.0, "phone nr": 1.0, "primary phone": 1.0,
        "contact phone": 0.95, "mobile": 0.95, "mobile phone": 0.95, "mobile number": 0.95,
        "cell": 0.95, "cell phone": 0.95, "cellphone": 0.95, "home phone": 0.93,
        "work phone": 0.9, "business phone": 0.9, "telefon": 1.0, "telefonnummer": 1.0,
        "tel nr": 1.0, "handy": 0.95, "mobil": 0.95, "mobilnummer": 0.95,
        "handynummer": 0.95, "numero de telephone": 1.0, "portable": 0.95,
        "telephone portable": 0.95, "telefono": 1.0, "numero de telefono": 1.0, "movil": 0.95,
        "celular": 0.95, "telefoonnummer": 1.0, "telefoon": 1.0, "mobiel": 0.95,
        "mobiele nummer": 0.95, "telefone": 1.0, "telemovel": 0.95, "numero de telefone": 1.0,
    },
    "date_of_birth": {
        "date of birth": 1.0, "dob": 1.0, "birth date": 1.0, "birthdate": 1.0,
        "birthday": 1.0, "born": 0.9, "born on": 0.9, "d o b": 1.0, "geburtsdatum": 1.0,
        "geburtstag": 1.0, "geb datum": 1.0, "date de naissance": 1.0, "naissance": 0.9,
        "ne le": 0.9, "fecha de nacimiento": 1.0, "fecha nacimiento": 1.0, "nacimiento": 0.9,
        "geboortedatum": 1.0, "geboren": 0.9, "data de nascimento": 1.0,
        "data nascimento": 1.0, "nascimento": 0.9,
    },
    "address_line1": {
        "address": 1.0, "street": 1.0, "street address": 1.0, "address line 1": 1.0,
        "address 1": 1.0, "addr": 0.95, "addr 1": 1.0, "street 1": 1.0,
        "mailing address": 0.95, "postal address": 0.95, "home address": 0.95,
        "billing address": 0.9, "shipping address": 0.85, "strasse": 1.0, "str": 0.9,
        "strasse und hausnummer": 1.0, "adresse": 1.0, "anschrift": 1.0, "rue": 0.95,
        "adresse postale": 1.0, "direccion": 1.0, "calle": 1.0, "domicilio": 0.95,
        "adres": 1.0, "straat": 1.0, "straatnaam": 0.95, "endereco": 1.0, "morada": 1.0,
        "rua": 0.95, "logradouro": 1.0, "address street": 1.0,
    },
    "address_line2": {
        "address line 2": 1.0, "address 2": 1.0, "addr 2": 1.0, "street 2": 1.0,
        "apartment": 0.95, "apt": 0.95, "suite": 0.95, "unit": 0.8, "apt suite": 1.0,
        "adresszusatz": 1.0, "complement d adresse": 1.0, "complement": 0.9,
        "complemento": 1.0, "toevoeging": 0.9, "huisnummer toevoeging": 1.0,
    },
    "city": {
        "city": 1.0, "town": 1.0, "locality": 0.95, "municipality": 0.95, "city town": 1.0,
        "stadt": 1.0, "ort": 1.0, "wohnort": 1.0, "ville": 1.0, "commune": 0.95,
        "localite": 0.95, "ciudad": 1.0, "localidad": 1.0, "municipio": 0.95, "poblacion": 0.9,
        "suburb": 1.0, "city suburb": 1.0, "stad": 1.0, "plaats": 1.0, "woonplaats": 1.0,
        "cidade": 1.0, "localidade": 1.0,
    },
    "state": {
        "state": 1.0, "province": 1.0, "region": 0.95, "county": 0.9, "state province": 1.0,
        "state region": 1.0, "bundesland": 1.0, "kanton": 0.95, "departement": 0.95,
        "provincia": 1.0, "estado": 1.0, "comunidad autonoma": 1.0, "provincie": 1.0,
        "distrito": 0.95, "uf": 0.9,
    },
    "postcode": {
        "postcode": 1.0, "post code": 1.0, "postal code": 1.0, "zip": 1.0, "zip code": 1.0,
        "zipcode": 1.0, "postleitzahl": 1.0, "plz": 1.0, "code postal": 1.0, "cp": 0.9,
        "codigo postal": 1.0, "cod postal": 1.0, "postcode nl": 1.0, "cep": 1.0,
        "postal": 0.9, "zip postal code": 1.0, "postnummer": 1.0,
    },
    "country": {
        "country": 1.0, "country code": 0.95, "nation": 0.9, "land": 0.9, "pays": 1.0,
        "pais": 1.0, "country region": 1.0, "staat": 0.8, "nationality": 0.7,
    },
    "company": {
        "company": 1.0, "company name": 1.0, "organization": 1.0, "organisation": 1.0,
        "employer": 1.0, "business name": 1.0, "account name": 0.9, "firma": 1.0,
        "unternehmen": 1.0, "arbeitgeber": 1.0, "firmenname": 1.0, "societe": 1.0,
        "entreprise": 1.0, "employeur": 1.0, "empresa": 1.0, "compania": 1.0,
        "bedrijf": 1.0, "bedrijfsnaam": 1.0, "organisatie": 1.0, "werkgever": 1.0,
        "nome da empresa": 1.0,
    },
    "national_id": {
        "ssn": 1.0, "social security number": 1.0, "social security no": 1.0,
        "social security": 1.0, "social security id": 1.0, "soc sec": 1.0, "soc sec id": 1.0,
        "soc sec no": 1.0, "soc sec number": 1.0,
        "national id": 1.0, "national id number": 1.0, "national insurance number": 1.0,
        "ni number": 1.0, "nino": 1.0, "tax id": 0.9, "tin": 0.9, "personal id number": 1.0,
        "personnummer": 1.0, "sozialversicherungsnummer": 1.0, "steuer id": 0.9,
        "steueridentifikationsnummer": 0.9, "numero de securite sociale": 1.0, "nir": 0.9,
        "dni": 1.0, "nie": 0.9, "nif": 0.9, "bsn": 1.0, "burgerservicenummer": 1.0,
        "cpf": 1.0, "id number": 0.9,
    },
    "updated_at": {
        "updated at": 1.0, "updated": 1.0, "last updated": 1.0, "last modified": 1.0,
        "modified": 1.0, "modified date": 1.0, "date modified": 1.0, "modified at": 1.0,
        "update date": 1.0, "last update": 1.0, "update time": 1.0, "updated time": 1.0,
        "modification time": 1.0, "modified time": 1.0, "modified on": 1.0, "updated on": 1.0,
        "last changed": 1.0, "changed": 0.9, "last activity": 0.9, "last activity at": 0.9,
        "last activity date": 0.9,
        "last modified date": 1.0, "lastmodified": 1.0, "geandert": 1.0,
        "zuletzt geandert": 1.0, "aktualisiert": 1.0, "letzte anderung": 1.0,
        "anderungsdatum": 1.0, "mis a jour": 1.0, "date de modification": 1.0,
        "modifie le": 1.0, "derniere modification": 1.0, "fecha de modificacion": 1.0,
        "actualizado": 1.0, "ultima modificacion": 1.0, "gewijzigd": 1.0,
        "laatst gewijzigd": 1.0, "bijgewerkt": 1.0, "atualizado": 1.0, "atualizado em": 1.0,
        "data de modificacao": 1.0, "ultima atualizacao": 1.0, "ultima alteracao": 1.0,
    },
}

#: Header words that say a column is about someone or something else, or a
#: flag about the field rather than the field: they discount a header match.
QUALIFIERS = frozenset({
    "created", "creator", "creation", "by", "owner", "manager", "assigned", "agent", "rep",
    "representative", "sales", "salesperson", "referrer", "referred", "referral", "emergency",
    "spouse", "partner", "parent", "guardian", "assignee", "broker", "advisor", "adviser",
    "consultant", "recruiter", "supervisor", "approver", "bearbeiter", "betreuer", "company",
    "business", "employer", "login",
    "logon", "signup", "registration", "opt", "optin", "optout", "opted", "consent", "verified",
    "bounced", "bounce", "status", "count", "type", "flag", "valid", "domain", "unsubscribed",
    "last", "first", "erstellt", "von", "cree", "par", "creado", "por", "aangemaakt", "door",
    "criado", "firma", "entreprise", "empresa", "bedrijf", "newsletter", "marketing",
    "sent", "open", "opened", "clicked", "order", "purchase", "invoice", "payment",
    "delivery", "lieferung", "livraison", "entrega", "levering", "ip", "url", "web", "site",
    "website", "source", "campaign", "score", "segment", "language", "gender", "age",
})
# fmt: on
