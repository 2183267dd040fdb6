// The registration form's values in the shape of POST /api/v1/cases, as the server's
// form_to_data builds them (fieldapp/cases/forms.py): same field names, same rules (an
// empty member row is skipped; what is not a whole number is sent as typed, for the
// server to report). Called only at the moment of sealing; nothing is kept.

function value(form, name) {
  const element = form.elements.namedItem(name);
  return element ? String(element.value ?? "") : "";
}

function optional(form, name) {
  return value(form, name) || null;
}

function typedNumber(text) {
  const trimmed = text.trim();
  if (!trimmed) return null;
  return /^\d{1,3}$/.test(trimmed) ? Number(trimmed) : trimmed;
}

function checked(form, name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((box) => box.value);
}

function members(form) {
  const rows = [];
  for (let i = 0; form.elements.namedItem(`household-${i}-given_name`); i += 1) {
    const field = (name) => value(form, `household-${i}-${name}`);
    if (!(field("given_name") || field("family_name") || field("date_of_birth"))) continue;
    rows.push({
      given_name: field("given_name"),
      family_name: field("family_name") || null,
      date_of_birth: field("date_of_birth") || null,
      sex: field("sex") || "unknown",
      relationship: field("relationship"),
    });
  }
  return rows;
}

export function caseBody(form) {
  const processing = form.elements.namedItem("data_processing");
  return {
    given_name: value(form, "given_name"),
    family_name: value(form, "family_name"),
    date_of_birth: optional(form, "date_of_birth"),
    age_years: typedNumber(value(form, "age_years")),
    sex: value(form, "sex"),
    nationality: value(form, "nationality"),
    document: { type: optional(form, "document_type"), number: optional(form, "document_number") },
    phone: optional(form, "phone"),
    address: optional(form, "address"),
    location_code: value(form, "location_code"),
    stage: value(form, "stage"),
    languages: checked(form, "languages"),
    notes: optional(form, "notes"),
    consent: {
      data_processing: Boolean(processing && processing.checked),
      basis: value(form, "consent_basis") || "consent",
      given_by: value(form, "consent_given_by") || "self",
      language: value(form, "consent_language") || "es",
      note: optional(form, "consent_note"),
    },
    household: members(form),
  };
}
