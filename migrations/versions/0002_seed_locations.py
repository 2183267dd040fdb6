"""seed locations: countries, divisions and real border sites of the Venezuelan displacement

Reference data every installation needs (not demo data). Codes follow ISO 3166-1
alpha-2 for countries and ISO 3166-2 for divisions; sites append a short name.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

COUNTRIES = [
    ("AR", "ARG", "Argentina"), ("AW", "ABW", "Aruba"), ("BO", "BOL", "Bolivia"),
    ("BR", "BRA", "Brasil"), ("CL", "CHL", "Chile"), ("CO", "COL", "Colombia"),
    ("CR", "CRI", "Costa Rica"), ("CW", "CUW", "Curaçao"),
    ("DO", "DOM", "República Dominicana"), ("EC", "ECU", "Ecuador"), ("GY", "GUY", "Guyana"),
    ("MX", "MEX", "México"), ("PA", "PAN", "Panamá"), ("PE", "PER", "Perú"),
    ("PY", "PRY", "Paraguay"), ("TT", "TTO", "Trinidad and Tobago"), ("UY", "URY", "Uruguay"),
    ("VE", "VEN", "Venezuela"),
]

DIVISIONS = [
    ("AR-C", "Ciudad Autónoma de Buenos Aires"), ("AR-Y", "Jujuy"),
    ("BO-L", "La Paz"), ("BO-O", "Oruro"),
    ("BR-AM", "Amazonas"), ("BR-RR", "Roraima"), ("BR-SP", "São Paulo"),
    ("CL-AN", "Antofagasta"), ("CL-AP", "Arica y Parinacota"),
    ("CL-RM", "Región Metropolitana de Santiago"), ("CL-TA", "Tarapacá"),
    ("CO-ANT", "Antioquia"), ("CO-ARA", "Arauca"), ("CO-ATL", "Atlántico"),
    ("CO-DC", "Bogotá D.C."), ("CO-GUA", "Guainía"), ("CO-LAG", "La Guajira"),
    ("CO-NAR", "Nariño"), ("CO-NSA", "Norte de Santander"), ("CO-SAN", "Santander"),
    ("CO-VAC", "Valle del Cauca"), ("CO-VID", "Vichada"),
    ("EC-C", "Carchi"), ("EC-G", "Guayas"), ("EC-L", "Loja"), ("EC-O", "El Oro"),
    ("EC-P", "Pichincha"), ("EC-U", "Sucumbíos"),
    ("PA-5", "Darién"), ("PA-8", "Panamá"),
    ("PE-LMA", "Lima Metropolitana"), ("PE-PIU", "Piura"), ("PE-PUN", "Puno"),
    ("PE-TAC", "Tacna"), ("PE-TUM", "Tumbes"),
    ("TT-POS", "Port of Spain"), ("TT-SIP", "Siparia"),
    ("VE-A", "Distrito Capital"), ("VE-C", "Apure"), ("VE-F", "Bolívar"),
    ("VE-S", "Táchira"), ("VE-V", "Zulia"),
]

# (code, name, kind): border_crossing, city or reception (a reception or transit centre)
SITES = [
    ("AR-C-BUENOSAIRES", "Buenos Aires", "city"),
    ("AR-Y-LAQUIACA", "La Quiaca", "border_crossing"),
    ("BO-L-DESAGUADERO", "Desaguadero (Bolivia)", "border_crossing"),
    ("BO-O-PISIGA", "Pisiga", "border_crossing"),
    ("BR-AM-MANAUS", "Manaus", "city"),
    ("BR-RR-BOAVISTA", "Boa Vista", "city"),
    ("BR-RR-PACARAIMA", "Pacaraima", "border_crossing"),
    ("BR-SP-SAOPAULO", "São Paulo", "city"),
    ("CL-AN-ANTOFAGASTA", "Antofagasta", "city"),
    ("CL-AP-CHACALLUTA", "Chacalluta (Arica)", "border_crossing"),
    ("CL-RM-SANTIAGO", "Santiago", "city"),
    ("CL-TA-COLCHANE", "Colchane", "border_crossing"),
    ("CO-ANT-MEDELLIN", "Medellín", "city"),
    ("CO-ANT-NECOCLI", "Necoclí", "reception"),
    ("CO-ARA-ARAUCA", "Arauca — Puente Internacional José Antonio Páez", "border_crossing"),
    ("CO-ATL-BARRANQUILLA", "Barranquilla", "city"),
    ("CO-DC-BOGOTA", "Bogotá", "city"),
    ("CO-GUA-INIRIDA", "Inírida", "border_crossing"),
    ("CO-LAG-MAICAO", "Maicao", "city"),
    ("CO-LAG-PARAGUACHON", "Paraguachón", "border_crossing"),
    ("CO-NAR-IPIALES", "Ipiales — Puente Internacional de Rumichaca", "border_crossing"),
    ("CO-NSA-CUCUTA", "Cúcuta", "city"),
    ("CO-NSA-TIENDITAS", "Puente Internacional Tienditas", "border_crossing"),
    ("CO-NSA-VILLADELROSARIO", "Villa del Rosario — Puente Internacional Simón Bolívar",
     "border_crossing"),
    ("CO-SAN-BUCARAMANGA", "Bucaramanga", "city"),
    ("CO-VAC-CALI", "Cali", "city"),
    ("CO-VID-PUERTOCARRENO", "Puerto Carreño", "border_crossing"),
    ("EC-C-TULCAN", "Tulcán — Puente Internacional de Rumichaca", "border_crossing"),
    ("EC-G-GUAYAQUIL", "Guayaquil", "city"),
    ("EC-L-MACARA", "Macará", "border_crossing"),
    ("EC-O-HUAQUILLAS", "Huaquillas — CEBAF", "border_crossing"),
    ("EC-P-QUITO", "Quito", "city"),
    ("EC-U-LAGOAGRIO", "Nueva Loja (Lago Agrio)", "border_crossing"),
    ("PA-5-LAJASBLANCAS", "Lajas Blancas", "reception"),
    ("PA-8-PANAMA", "Ciudad de Panamá", "city"),
    ("PE-LMA-LIMA", "Lima", "city"),
    ("PE-PIU-PIURA", "Piura", "city"),
    ("PE-PUN-DESAGUADERO", "Desaguadero (Perú)", "border_crossing"),
    ("PE-TAC-SANTAROSA", "Tacna — Santa Rosa", "border_crossing"),
    ("PE-TUM-TUMBES", "Tumbes — CEBAF", "border_crossing"),
    ("TT-POS-PORTOFSPAIN", "Port of Spain", "city"),
    ("TT-SIP-CEDROS", "Cedros", "border_crossing"),
    ("VE-A-CARACAS", "Caracas", "city"),
    ("VE-C-ELAMPARO", "El Amparo", "border_crossing"),
    ("VE-F-SANTAELENA", "Santa Elena de Uairén", "border_crossing"),
    ("VE-S-SANANTONIO", "San Antonio del Táchira", "border_crossing"),
    ("VE-S-URENA", "Ureña", "border_crossing"),
    ("VE-V-PARAGUAIPOA", "Paraguaipoa", "border_crossing"),
]

locations = sa.table(
    "locations",
    sa.column("code", sa.String), sa.column("level", sa.String),
    sa.column("parent_code", sa.String), sa.column("name", sa.String),
    sa.column("alpha3", sa.String), sa.column("site_kind", sa.String),
)


def _parent(code: str) -> str:
    return code.rsplit("-", 1)[0]


def upgrade() -> None:
    op.bulk_insert(locations, [
        {"code": c, "level": "country", "parent_code": None, "name": n, "alpha3": a3,
         "site_kind": None} for c, a3, n in COUNTRIES])
    op.bulk_insert(locations, [
        {"code": c, "level": "division", "parent_code": c.split("-")[0], "name": n,
         "alpha3": None, "site_kind": None} for c, n in DIVISIONS])
    op.bulk_insert(locations, [
        {"code": c, "level": "site", "parent_code": _parent(c), "name": n, "alpha3": None,
         "site_kind": k} for c, n, k in SITES])


def downgrade() -> None:
    for level in ("site", "division", "country"):
        op.execute(locations.delete().where(locations.c.level == level))
