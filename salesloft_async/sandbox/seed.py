"""Deterministic seed data shaped like the definition's schemas.

The main collections (people, accounts, users, cadences, memberships, calls, emails, tasks, notes,
...) are built by hand-written generators, fast enough for 25,000 people in well under a second;
every other resource of the definition is faked field by field from its schema.  Timestamps have
microseconds and include clusters of records sharing one `updated_at`, as bulk imports produce,
among them one cluster larger than a page (the case that breaks naive cursor pollers).
"""

from __future__ import annotations

import gc
import hashlib
import random
import re
from collections.abc import Callable
from typing import Any

from ..spec import Field, Schema
from .config import SandboxConfig
from .resources import REF_TARGETS, ResourceInfo
from .store import Collection, Record, Store, iso_from_us

__all__ = ["fake_record", "seed_store"]

BASE_US = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
SPAN_US = 600 * 86_400 * 1_000_000

FIRST = (
    "Ada",
    "Grace",
    "Alan",
    "Linus",
    "Barbara",
    "Edsger",
    "Donald",
    "Margaret",
    "Ken",
    "Dennis",
    "Frances",
    "John",
    "Radia",
    "Guido",
    "Katherine",
    "Tim",
    "Sophie",
    "Yukihiro",
    "Anita",
    "Bjarne",
    "Hedy",
    "Niklaus",
    "Shafi",
    "Leslie",
    "Joan",
    "Vint",
    "Fei",
    "Ivan",
)
LAST = (
    "Lovelace",
    "Hopper",
    "Turing",
    "Torvalds",
    "Liskov",
    "Dijkstra",
    "Knuth",
    "Hamilton",
    "Thompson",
    "Ritchie",
    "Allen",
    "Backus",
    "Perlman",
    "Rossum",
    "Johnson",
    "Berners-Lee",
    "Wilson",
    "Matsumoto",
    "Borg",
    "Stroustrup",
    "Lamarr",
    "Wirth",
    "Goldwasser",
    "Lamport",
    "Clarke",
    "Cerf",
    "Li",
    "Sutherland",
)
COMPANIES = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Aperture",
    "Massive",
    "Dynamic",
    "Gringotts",
    "Oscorp",
    "Nakatomi",
    "Pied",
    "Piper",
    "Monarch",
    "Prestige",
    "Dunder",
)
TITLES = (
    "CEO",
    "CTO",
    "VP Sales",
    "Account Executive",
    "SDR",
    "Head of Marketing",
    "Engineer",
    "Director of Operations",
    "Product Manager",
    "Recruiter",
)
#: the values the definition lists for `job_seniority`
SENIORITY = (
    "individual_contributor",
    "manager",
    "director",
    "vice_president",
    "executive",
    "unknown",
)
INDUSTRIES = ("Software", "Retail", "Finance", "Healthcare", "Manufacturing", "Education")
PLACES = (
    ("San Francisco", "CA", "US"),
    ("Austin", "TX", "US"),
    ("New York", "NY", "US"),
    ("Atlanta", "GA", "US"),
    ("London", "England", "GB"),
    ("Berlin", "Berlin", "DE"),
    ("Toronto", "ON", "CA"),
)
DISPOSITIONS = ("Connected", "Left Voicemail", "No Answer", "Bad Number", "Meeting Booked")
SENTIMENTS = ("Interested", "Not Interested", "Timing", "Referral")
#: among the statuses the definition lists; a bounce is `bounced: true` on a sent email
EMAIL_STATUS = ("sent", "sent", "sent", "sent", "scheduled", "delivering")
TASK_TYPES = ("call", "email", "general")
TASK_STATES = ("scheduled", "scheduled", "completed")
STEP_TYPES = ("email", "phone", "other", "integration")
PERSON_STAGES = ("New", "Contacted", "Replied", "Meeting Set", "Disqualified", "Nurture")
ACCOUNT_STAGES = ("Prospect", "Engaged", "Opportunity", "Customer", "Churned")
ACCOUNT_TIERS = ("Tier 1", "Tier 2", "Tier 3")


def _timeline(rng: random.Random, n: int, *, clusters: list[int]) -> list[tuple[int, int]]:
    """(created_us, updated_us) for n records: created rises with id; clusters share updated_at."""
    times: list[tuple[int, int]] = []
    step = SPAN_US // max(n, 1)
    draw = rng.random
    late = 90 * 86_400 * 1_000_000
    for i in range(n):
        created = BASE_US + i * step + int(draw() * step)
        times.append((created, created + int(draw() * late)))
    # small clusters all along (a few records written in one transaction), then the given ones
    sizes = [rng.randint(2, 12) for _ in range(n // 400)] + clusters
    for size in sizes:
        size = min(size, n // 2)
        if size < 2:
            continue
        start = _below(rng, n - size + 1)
        shared = max(t[1] for t in times[start : start + size])
        for j in range(start, start + size):
            created = min(times[j][0], shared)
            times[j] = (created, shared)
    return times


class _Seeder:
    def __init__(self, store: Store, config: SandboxConfig, infos: dict[str, ResourceInfo]):
        self.store = store
        self.config = config
        self.infos = infos
        self.base = store.base_url
        self._prefixes: dict[str, str] = {}
        self._refs: dict[tuple[str, int], dict[str, Any]] = {}
        # Values shared by many seeded records.  Nothing edits a record's value in place (every
        # write replaces whole values), so sharing is safe and saves allocations and GC work.
        self.empty_list: list[Any] = []
        self.empty_dict: dict[str, Any] = {}
        self.sandbox_tag = ["sandbox"]
        self.source_field = {"source": "sandbox"}

    def rng(self, name: str) -> random.Random:
        return random.Random(f"{self.config.seed}:{name}")

    def col(self, name: str) -> Collection:
        info = self.infos.get(name)
        return self.store.collection(
            name, info.path if info else f"/v2/{name}", uuid_ids=bool(info and info.uuid_ids)
        )

    def uuid(self, name: str, i: int) -> str:
        """The string id of record `i` of a resource with string ids, in its example's form (a
        UUID unless the example is a number): known before that resource is seeded, so records
        seeded earlier can point at it."""
        info = self.infos.get(name)
        schema = info.schema_obj() if info else None
        id_field = next((f for f in schema.fields if f.name == "id"), None) if schema else None
        if id_field is not None and id_field.example.isdigit():
            return str(i)
        return _guid(self.config.seed, name, i)

    def ref(self, name: str, rid: int | None) -> dict[str, Any] | None:
        """An embedded reference; one shared dict per target (writes replace refs, never edit).

        Only a resource the sandbox serves by id is referred to: its `_href` must resolve."""
        if rid is None:
            return None
        key = (name, rid)
        found = self._refs.get(key)
        if found is None:
            info = self.infos.get(name)
            if info is None or not info.op("get"):
                return None
            col = self.store.collections.get(name)
            if col is not None and not info.uuid_ids and rid not in col.records:
                if not col.ids:
                    return None
                rid = col.ids[(rid - 1) % len(col.ids)]  # only records that exist
            prefix = self._prefixes.get(name)
            if prefix is None:
                prefix = self._prefixes[name] = f"{self.base}{info.path}/"
            shown: Any = self.uuid(name, rid) if info.uuid_ids else rid
            found = self._refs[key] = {"_href": f"{prefix}{shown}", "id": shown}
        return found

    def fill(
        self,
        name: str,
        count: int,
        make: Callable[[int, random.Random], Record],
        *,
        clusters: list[int] | None = None,
    ) -> Collection:
        col = self.col(name)
        rng = self.rng(name)
        times = _timeline(rng, count, clusters=clusters if clusters is not None else [20])
        records = []
        for i, (created, updated) in enumerate(times):
            record = make(i + 1, rng)
            record["id"] = self.uuid(name, i + 1) if col.uuid_ids else i + 1
            record["created_at"] = iso_from_us(created)
            record["updated_at"] = iso_from_us(updated)
            records.append(record)
        col.load(records, times)
        return col

    # -- the main collections -------------------------------------------------------------------

    def users(self) -> None:
        n = max(1, self.config.size("users"))

        def make(i: int, rng: random.Random) -> Record:
            first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
            email = f"{first}.{last}{i}@sandbox.example".lower()
            return {
                "_private_fields": {},
                "active": i != n or n == 1,
                "bcc_email_address": None,
                "click_to_call_enabled": True,
                "crm_connected": False,
                "email": email,
                "email_client_configured": True,
                "email_client_email_address": email,
                "email_signature": f"-- {first} {last}",
                "email_signature_click_tracking_disabled": False,
                "email_signature_type": "html",
                "external_feature_flags": {},
                "first_name": first,
                "from_address": email,
                "full_email_address": f'"{first} {last}" <{email}>',
                "group": self.ref("groups", 1 + i % 3),
                "guid": _guid(self.config.seed, "user", i),
                "job_role": "Sales",
                "last_name": last,
                "local_dial_enabled": False,
                "name": f"{first} {last}",
                "phone_client": None,
                "phone_number_assignment": None,
                "role": {"id": "Admin" if i == 1 else "User"},
                "sending_email_address": email,
                "slack_username": None,
                "team": {"_href": f"{self.base}/v2/team", "id": 1},
                "team_admin": i == 1,
                "time_zone": "US/Eastern",
                "twitter_handle": None,
                "work_country": "US",
            }

        self.fill("users", n, make, clusters=[])

    def simple_named(self, name: str, labels: tuple[str, ...]) -> None:
        def make(i: int, rng: random.Random) -> Record:
            return {"name": labels[(i - 1) % len(labels)], "order": i}

        self.fill(name, len(labels), make, clusters=[])

    def accounts(self) -> None:
        n = self.config.size("accounts")
        users = self.config.size("users")
        col = self.col("accounts")
        col.unique["domain"] = {}

        def make(i: int, rng: random.Random) -> Record:
            company = f"{COMPANIES[i % len(COMPANIES)]} {i}"
            domain = f"{COMPANIES[i % len(COMPANIES)].lower()}{i}.example.com"
            city, state, country = PLACES[i % len(PLACES)]
            owner = 1 + _below(rng, users)
            return {
                "account_tier": self.ref("account_tiers", 1 + i % len(ACCOUNT_TIERS)),
                "archived_at": None,
                "city": city,
                "company_stage": self.ref("account_stages", 1 + i % len(ACCOUNT_STAGES)),
                "company_type": "B2B",
                "conversational_name": COMPANIES[i % len(COMPANIES)],
                "counts": {"people": 0},
                "country": country,
                "creator": self.ref("users", 1),
                "crm_id": f"001A{_pad8(i)}",
                "crm_object_type": "account",
                "crm_url": f"https://crm.example.com/account/001A{_pad8(i)}",
                "custom_fields": self.empty_dict,
                "description": f"{company} makes things.",
                "do_not_contact": rng.random() < 0.02,
                "domain": domain,
                "founded": str(1950 + i % 70),
                "industry": INDUSTRIES[i % len(INDUSTRIES)],
                "last_contacted_at": None,
                "last_contacted_by": None,
                "last_contacted_person": None,
                "last_contacted_type": None,
                "linkedin_url": f"https://www.linkedin.com/company/{domain.split('.')[0]}",
                "locale": "en_US",
                "name": company,
                "owner": self.ref("users", owner),
                "owner_crm_id": f"005U{_pad8(owner)}",
                "phone": f"+1 555 {PAD3[i % 1000]} {PAD4[i % 10000]}",
                "postal_code": f"{10000 + i % 89999}",
                "revenue_range": "$10M - $50M",
                "size": "100-500",
                "state": state,
                "street": f"{i} Main St",
                "tags": self.sandbox_tag if i % 5 == 0 else self.empty_list,
                "twitter_handle": None,
                "user_relationships": self.empty_list,
                "website": f"https://www.{domain}",
            }

        self.fill("accounts", n, make)

    def people(self) -> None:
        n = self.config.size("people")
        users = self.config.size("users")
        accounts = self.config.size("accounts")
        col = self.col("people")
        col.unique["email_address"] = {}
        big = min(self.config.big_cluster, n // 2)
        pool_rng = self.rng("people-counts")
        # shared, never edited in place (a write replaces the whole value)
        counts_pool = [
            {
                "calls": _below(pool_rng, 5),
                "emails_bounced": 0,
                "emails_clicked": _below(pool_rng, 3),
                "emails_replied_to": _below(pool_rng, 2),
                "emails_sent": _below(pool_rng, 8),
                "emails_viewed": _below(pool_rng, 6),
            }
            for _ in range(64)
        ]

        def make(i: int, rng: random.Random) -> Record:
            first = FIRST[i % len(FIRST)]
            last = LAST[(i // len(FIRST)) % len(LAST)]
            email = f"{first}.{last}.{i}@example.com".lower()
            city, state, country = PLACES[i % len(PLACES)]
            draw = rng.random
            owner = 1 + int(draw() * users)
            account = 1 + int(draw() * accounts) if accounts and draw() < 0.9 else None
            company = COMPANIES[(account or i) % len(COMPANIES)]
            contacted = draw() < 0.4
            return {
                "account": self.ref("accounts", account),
                "bouncing": False,
                "cadences": [],
                "city": city,
                "contact_restrictions": self.empty_list,
                "counts": counts_pool[int(draw() * len(counts_pool))],
                "country": country,
                "crm_id": f"003P{_pad8(i)}" if i % 3 else None,
                "crm_object_type": "contact" if i % 3 else None,
                "crm_url": f"https://crm.example.com/contact/003P{_pad8(i)}" if i % 3 else None,
                "custom_fields": self.source_field if i % 4 == 0 else self.empty_dict,
                "display_name": f"{first} {last}",
                "do_not_contact": i % 50 == 0,
                "email_address": email,
                "eu_resident": country in ("GB", "DE"),
                "first_name": first,
                "full_email_address": f'"{first} {last}" <{email}>',
                "home_phone": None,
                "import": None,
                "job_seniority": SENIORITY[i % len(SENIORITY)],
                "last_completed_step": None,
                "last_completed_step_cadence": None,
                "last_contacted_at": None,
                "last_contacted_by": self.ref("users", owner) if contacted else None,
                "last_contacted_type": "email" if contacted else None,
                "last_name": last,
                "last_replied_at": None,
                "linkedin_url": f"https://www.linkedin.com/in/{first}-{last}-{i}".lower(),
                "locale": "en_US",
                "locale_utc_offset": -18000,
                "mobile_phone": f"+1 555 01{PAD3[i % 100][1:]} {PAD4[i % 10000]}"
                if i % 2
                else None,
                "most_recent_cadence": None,
                "owner": self.ref("users", owner),
                "owner_crm_id": f"005U{_pad8(owner)}",
                "person_company_industry": INDUSTRIES[i % len(INDUSTRIES)],
                "person_company_name": company,
                "person_company_website": f"https://www.{company.lower()}.example.com",
                "person_stage": self.ref("person_stages", 1 + i % len(PERSON_STAGES)),
                "personal_email_address": None,
                "personal_website": None,
                "phone": f"+1 555 {PAD3[i % 1000]} {PAD4[(i * 7) % 10000]}",
                "phone_extension": None,
                "secondary_email_address": None,
                "starred": False,
                "state": state,
                "success_count": 0,
                "tags": self.sandbox_tag if i % 7 == 0 else self.empty_list,
                "title": TITLES[i % len(TITLES)],
                "twitter_handle": None,
                "untouched": not contacted,
                "work_city": city,
                "work_country": country,
                "work_state": state,
            }

        self.fill("people", n, make, clusters=[big] if big >= 2 else [])
        counts: dict[int, int] = {}
        for person in col.records.values():
            if person["account"] is not None:
                aid = person["account"]["id"]
                counts[aid] = counts.get(aid, 0) + 1
        for aid, number in counts.items():
            account = self.store["accounts"].get(aid)
            if account is not None:
                account["counts"] = {"people": number}

    def cadences(self) -> None:
        n = self.config.size("cadences")
        users = self.config.size("users")

        def make(i: int, rng: random.Random) -> Record:
            owner = 1 + _below(rng, users)
            return {
                "added_stage": self.ref("person_stages", 1),
                "archived_at": None,
                "bounced_stage": None,
                "cadence_framework_id": None,
                "cadence_function": "outbound",
                "cadence_priority": None,
                "counts": {
                    "cadence_people": 0,
                    "meetings_booked": _below(rng, 10),
                    "opportunities_created": _below(rng, 5),
                    "people_acted_on_count": 0,
                    "target_daily_people": 20,
                },
                "creator": self.ref("users", owner),
                "draft": False,
                "external_identifier": None,
                "finished_stage": None,
                "groups": [],
                "name": f"Cadence {i}: {TITLES[i % len(TITLES)]} outreach",
                "opt_out_link_included": True,
                "owner": self.ref("users", owner),
                "remove_bounces_enabled": True,
                "remove_replies_enabled": True,
                "replied_stage": self.ref("person_stages", 3),
                "shared": i % 2 == 0,
                "tags": [],
                "team_cadence": i % 3 == 0,
            }

        self.fill("cadences", n, make, clusters=[])

    def steps(self) -> None:
        cadences = max(1, self.config.size("cadences"))
        n = self.config.size("steps")

        def make(i: int, rng: random.Random) -> Record:
            number = (i - 1) // cadences + 1
            kind = STEP_TYPES[i % len(STEP_TYPES)]
            return {
                "cadence": self.ref("cadences", 1 + (i - 1) % cadences),
                "day": number,
                "details": None,
                "disabled": False,
                "display_name": f"Day {number}: {kind}",
                "multitouch_enabled": False,
                "name": f"Step {number}",
                "step_number": number,
                "type": kind,
            }

        self.fill("steps", n, make, clusters=[])

    def memberships(self) -> None:
        people = self.store["people"]
        cadences = max(1, self.config.size("cadences"))
        # at most two cadences per person, and never more pairs than exist (the loop below draws
        # distinct pairs until it has n of them)
        n = min(self.config.size("cadence_memberships"), len(people) * min(2, cadences))
        users = self.config.size("users")
        seen: set[tuple[int, int]] = set()
        pairs: list[tuple[int, int]] = []
        rng = self.rng("membership-pairs")
        while len(pairs) < n and people.ids:
            pair = (rng.choice(people.ids), 1 + _below(rng, cadences))
            if pair not in seen:
                seen.add(pair)
                pairs.append(pair)

        def make(i: int, rng: random.Random) -> Record:
            person, cadence = pairs[i - 1]
            on = rng.random() < 0.7
            return {
                "added_at": None,
                "cadence": self.ref("cadences", cadence),
                "counts": {
                    "bounces": 0,
                    "calls": _below(rng, 3),
                    "clicks": _below(rng, 3),
                    "replies": _below(rng, 2),
                    "sent_emails": _below(rng, 5),
                    "views": _below(rng, 5),
                },
                "current_state": "staged" if on else "finished",
                "currently_on_cadence": on,
                "latest_action": None,
                "person": self.ref("people", person),
                "person_deleted": False,
                "user": self.ref("users", 1 + _below(rng, users)),
            }

        col = self.fill("cadence_memberships", len(pairs), make)
        cadence_counts: dict[int, int] = {}
        for membership in col.records.values():
            membership["added_at"] = membership["created_at"]
            person = people.get(membership["person"]["id"])
            cid = membership["cadence"]["id"]
            cadence_counts[cid] = cadence_counts.get(cid, 0) + 1
            if person is not None and membership["currently_on_cadence"]:
                person["cadences"] = [*person["cadences"], self.ref("cadences", cid)]
                person["most_recent_cadence"] = self.ref("cadences", cid)
        for cid, number in cadence_counts.items():
            cadence = self.store["cadences"].get(cid)
            if cadence is not None:
                cadence["counts"]["cadence_people"] = number

    def activities(self) -> None:
        people = max(1, self.config.size("people"))
        users = self.config.size("users")
        cadences = max(1, self.config.size("cadences"))

        def call(i: int, rng: random.Random) -> Record:
            person = 1 + _below(rng, people)
            return {
                "action": None,
                "cadence": self.ref("cadences", 1 + _below(rng, cadences)) if i % 2 else None,
                "called_person": self.ref("people", person),
                "crm_activity": None,
                "disposition": DISPOSITIONS[i % len(DISPOSITIONS)],
                "duration": _below(rng, 600),
                "note": None,
                "recordings": [],
                "sentiment": SENTIMENTS[i % len(SENTIMENTS)] if i % 3 else None,
                "step": None,
                "to": f"+1 555 {PAD3[person % 1000]} {PAD4[(person * 7) % 10000]}",
                "user": self.ref("users", 1 + _below(rng, users)),
            }

        def email(i: int, rng: random.Random) -> Record:
            person = 1 + _below(rng, people)
            status = EMAIL_STATUS[i % len(EMAIL_STATUS)]
            first = FIRST[person % len(FIRST)]
            last = LAST[(person // len(FIRST)) % len(LAST)]
            return {
                "action": None,
                "bounced": i % len(EMAIL_STATUS) == 3,
                "cadence": self.ref("cadences", 1 + _below(rng, cadences)) if i % 2 else None,
                "click_tracking": True,
                "counts": {
                    "attachments": 0,
                    "clicks": _below(rng, 3),
                    "replies": _below(rng, 2),
                    "unique_devices": 1,
                    "unique_locations": 1,
                    "views": _below(rng, 5),
                },
                "crm_activity": None,
                "email_template": None,
                "error_message": None,
                "headers": {},
                "mailing": None,
                "personalization": "0.0",
                "recipient": self.ref("people", person),
                "recipient_email_address": f"{first}.{last}.{person}@example.com".lower(),
                "send_after": None,
                "sent_at": None,
                "status": status,
                "step": None,
                "subject": f"Quick question #{i}",
                "task": None,
                "user": self.ref("users", 1 + _below(rng, users)),
                "view_tracking": True,
            }

        def task(i: int, rng: random.Random) -> Record:
            state = TASK_STATES[i % len(TASK_STATES)]
            user = 1 + _below(rng, users)
            return {
                "completed_at": None,
                "completed_by": self.ref("users", user) if state == "completed" else None,
                "created_by_user": self.ref("users", 1),
                "current_state": state,
                "description": f"Follow up #{i}",
                "due_at": None,
                "due_date": None,
                "person": self.ref("people", 1 + _below(rng, people)),
                "remind_at": None,
                "subject": f"Task {i}",
                "task_type": TASK_TYPES[i % len(TASK_TYPES)],
                "user": self.ref("users", user),
            }

        def note(i: int, rng: random.Random) -> Record:
            return {
                "associated_type": "person",
                "associated_with": self.ref("people", 1 + _below(rng, people)),
                "call": None,
                "content": f"Spoke about renewal, note {i}.",
                "user": self.ref("users", 1 + _below(rng, users)),
            }

        self.fill("calls", self.config.size("calls"), call)
        emails = self.fill("emails", self.config.size("emails"), email)
        for record in emails.records.values():
            if record["status"] == "sent":
                record["sent_at"] = record["updated_at"]
        tasks = self.fill("tasks", self.config.size("tasks"), task)
        for record in tasks.records.values():
            record["due_date"] = record["created_at"][:10]
            record["due_at"] = record["created_at"]
            if record["current_state"] == "completed":
                record["completed_at"] = record["updated_at"]
        self.fill("notes", self.config.size("notes"), note)

    def groups(self) -> None:
        def make(i: int, rng: random.Random) -> Record:
            return {
                "accessible_groups": [],
                "name": ("Sales", "Marketing", "Success")[(i - 1) % 3],
                "parent_id": None,
            }

        self.fill("groups", 3, make, clusters=[])

    def generic(self, info: ResourceInfo, schema: Schema) -> None:
        count = self.config.size(info.name)
        pointing = [f for f in schema.fields if f.target and f.ref is None and not f.array]

        def make(i: int, rng: random.Random) -> Record:
            record = fake_record(schema, i, rng, self.ref)
            for fld in pointing:  # a bare id or guid names a record that exists
                record[fld.name] = self.existing(fld, record[fld.name], i)
            return record

        self.fill(info.name, count, make, clusters=[])

    def existing(self, fld: Field, value: Any, i: int) -> Any:
        """`value` of a field pointing at `fld.target` (an id, or a user's guid), made to name a
        record the sandbox has (the value as made when the target is not served)."""
        col = self.store.collections.get(fld.target or "")
        if col is None or not col.ids:
            return value
        record = col.records[col.ids[(i - 1) % len(col.ids)]]
        if "guid" in fld.name:
            return record.get("guid", value)
        return record["id"] if fld.type == "integer" else str(record["id"])

    def conversations(self) -> None:
        """Link conversations and transcriptions both ways, and give each its sub-resources
        (extensive view, recording, transcript artifact, sentences) at the paths that serve them."""
        from .._operations import SCHEMAS

        convs, trans = self.store["conversations"], self.store["transcriptions"]
        base = self.base
        rng = self.rng("conversations:extra")
        extensive, recordings, artifacts, sentences = [], [], [], []
        ext_times, rec_times, art_times, sen_times = [], [], [], []
        for key, conv in convs.records.items():
            cid = conv["id"]
            t = trans.records.get(key)
            tid = t["id"] if t else None
            conv_href = f"{base}/v2/conversations/{cid}"
            tr_href = f"{base}/v2/transcriptions/{tid}"
            conv["recording"] = {"_href": f"{conv_href}/recording", "id": cid}
            conv["transcription"] = {"_href": tr_href, "id": tid} if t else None
            conv["transcription_sentences"] = (
                {"_href": f"{tr_href}/sentences", "id": tid} if t else None
            )
            conv["transcription_artifact"] = (
                {"_href": f"{tr_href}/artifact", "id": tid} if t else None
            )
            conv["call_id"] = None  # call data records do not point back at conversations here
            times = convs.times[key]
            more = fake_record(SCHEMAS["ConversationExtensive"], key, rng, self.ref)
            extensive.append({**more, **conv})
            ext_times.append(times)
            recording = fake_record(SCHEMAS["ConversationRecording"], key, rng, self.ref)
            recording.update(
                id=cid,
                url=f"https://media.example.com/recordings/{cid}.mp4",
                created_at=conv["created_at"],
                updated_at=conv["updated_at"],
            )
            recordings.append(recording)
            rec_times.append(times)
            if t is None:
                continue
            conv_ref = {"_href": conv_href, "id": cid}
            t["conversation"] = conv_ref
            t["transcription_sentences"] = {"_href": f"{tr_href}/sentences", "id": tid}
            t["transcription_artifact"] = {"_href": f"{tr_href}/artifact", "id": tid}
            artifacts.append(
                {
                    "content_type": "application/json",
                    "conversation": conv_ref,
                    "created_at": t["created_at"],
                    "id": tid,
                    "language_code": t.get("language_code"),
                    "updated_at": t["updated_at"],
                    "url": f"https://media.example.com/transcripts/{tid}.json",
                }
            )
            art_times.append(trans.times[key])
            created = trans.times[key][0]
            for n in range(1 + key % 4):
                start = n * 4.5
                sentences.append(
                    {
                        "conversation": conv_ref,
                        "end_time": start + 4.0,
                        "id": tid,
                        "order_number": n + 1,
                        "recording_attendee_id": _guid(0, "attendee", key * 10 + n % 2),
                        "start_time": start,
                        "text": f"Sentence {n + 1} of conversation {key}.",
                    }
                )
                sen_times.append((created + n, created + n))
        for name, records, stamps in (
            ("conversation_extensives", extensive, ext_times),
            ("conversation_recordings", recordings, rec_times),
            ("transcription_artifacts", artifacts, art_times),
            ("transcription_sentences", sentences, sen_times),
        ):
            self.col(name).load(records, stamps)


PAD3 = tuple(f"{n:03d}" for n in range(1000))
PAD4 = tuple(f"{n:04d}" for n in range(10000))


def _pad8(n: int) -> str:
    return str(n).zfill(8)


def _below(rng: random.Random, n: int) -> int:
    """A uniform int in [0, n): random.random() is several times cheaper than randrange."""
    return int(rng.random() * n)


def _guid(seed: int, kind: str, i: int) -> str:
    h = hashlib.md5(f"{seed}:{kind}:{i}".encode(), usedforsecurity=False).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


RefMaker = Callable[[str, "int | None"], "dict[str, Any] | None"]


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def fake_value(fld: Field, i: int, rng: random.Random, ref: RefMaker, depth: int = 0) -> Any:
    """A plausible value for one schema field: of its type, among its listed values, in the
    form of its example, and pointing at a record that exists where it refers to one."""
    name = fld.name
    if fld.ref == "EmbeddedResource":
        target = fld.target or REF_TARGETS.get(
            name.removesuffix("s"), name if name.endswith("s") else name + "s"
        )
        if fld.array:
            return []
        return ref(target, 1 + _below(rng, 5))
    if fld.ref is not None:
        from .._operations import SCHEMAS

        nested = SCHEMAS.get(fld.ref)
        if nested is None or depth > 1:
            return [] if fld.array else None
        value = fake_record(nested, i, rng, ref, depth + 1)
        return [value] if fld.array else value
    if fld.array:
        return []
    if fld.choices:
        return fld.choices[_below(rng, len(fld.choices))]
    if fld.type == "boolean":
        return rng.random() < 0.5
    if fld.type == "integer":
        return 1 + _below(rng, 5 if fld.target or name.endswith("_id") else 99)
    if fld.type == "number":
        return round(rng.random() * 100, 2)
    if fld.format == "date":  # a plain date, even named like a timestamp (`inserted_at`)
        return iso_from_us(BASE_US + _below(rng, SPAN_US))[:10]
    if fld.type == "datetime" or name.endswith("_at") or name.endswith("_time"):
        return iso_from_us(BASE_US + _below(rng, SPAN_US))
    if fld.type == "object":
        return {}
    example = fld.example
    named = NAMED_VALUES.get(name) or (NAMED_VALUES["crm_id"] if name.endswith("crm_id") else None)
    if named is not None:
        return named(i)
    if fld.format == "uuid" or _UUID.match(example) or "guid" in name or name == "uuid":
        return _guid(0, name, i)
    if example.isdigit() or (name.endswith("_id") and not example):
        # an id sent as a string ("123"): one of the records the sandbox has
        return str(1 + _below(rng, 5))
    if "email" in name or "@" in example:
        return f"{name.replace('_', '.')}.{i}@example.com"
    if fld.format == "uri" or name.endswith("url") or name.endswith("link"):
        return f"https://example.com/{name}/{i}"
    if example:
        return example
    # free text no source describes: a readable label, e.g. "Account Name 3"
    return f"{name.replace('_', ' ').title()} {i}"


#: field name -> a value in the form Salesloft sends, where no example in a definition gives one
NAMED_VALUES: dict[str, Callable[[int], str]] = {
    "crm_id": lambda i: f"0063X00001{i:08d}",
    "amount": lambda i: f"{1000 * (i % 50 + 1)}.00",
    "probability": lambda i: str((i * 10) % 100),
    "currency_iso_code": lambda i: ("USD", "EUR", "GBP")[i % 3],
    "crm_type": lambda i: ("salesforce", "hubspot")[i % 2],
    "locale": lambda i: ("en-US", "de-DE")[i % 2],
}


def fake_record(
    schema: Schema, i: int, rng: random.Random, ref: RefMaker, depth: int = 0
) -> Record:
    record: Record = {}
    for fld in schema.fields:
        if fld.name == "id":
            record["id"] = i if fld.type != "string" else str(i)
        else:
            record[fld.name] = fake_value(fld, i, rng, ref, depth)
    return record


HAND_MADE = frozenset(
    {
        "users",
        "accounts",
        "people",
        "cadences",
        "steps",
        "cadence_memberships",
        "calls",
        "emails",
        "tasks",
        "notes",
        "groups",
        "person_stages",
        "account_stages",
        "account_tiers",
    }
)


#: collections that start empty: the caller's own objects
NOT_SEEDED = frozenset({"bulk_jobs", "webhook_subscriptions"})


def seed_store(store: Store, config: SandboxConfig, infos: dict[str, ResourceInfo]) -> None:
    # Tens of thousands of fresh dicts would trigger repeated GC passes that find nothing to
    # free, so the collector is paused while seeding.  One young-generation pass afterwards
    # (about 0.1 s for 25,000 people) untracks the plain dicts and promotes the rest, instead of
    # a first request stalling on it.  (gc.freeze would be cheaper but is process-wide: it would
    # keep earlier, stopped sandboxes alive for good.)
    enabled = gc.isenabled()
    gc.disable()
    try:
        _seed(store, config, infos)
    finally:
        if enabled:
            gc.enable()
            gc.collect(1)


def _seed(store: Store, config: SandboxConfig, infos: dict[str, ResourceInfo]) -> None:
    seeder = _Seeder(store, config, infos)
    seeder.users()
    seeder.groups()
    seeder.simple_named("person_stages", PERSON_STAGES)
    seeder.simple_named("account_stages", ACCOUNT_STAGES)
    seeder.simple_named("account_tiers", ACCOUNT_TIERS)
    seeder.accounts()
    seeder.people()
    seeder.cadences()
    seeder.steps()
    seeder.memberships()
    seeder.activities()
    for name, info in sorted(infos.items()):
        if name in HAND_MADE or name in NOT_SEEDED or name in store or not info.collection:
            continue
        schema = info.schema_obj()
        if schema is not None and info.seeded:
            seeder.generic(info, schema)
        else:
            seeder.col(name)
    seeder.conversations()
    for name, info in infos.items():
        if name not in store and info.collection:
            seeder.col(name)
    store.singletons["profiles"] = {
        "created_at": iso_from_us(BASE_US),
        "id": 1,
        "updated_at": iso_from_us(BASE_US),
        "user": seeder.ref("users", 1),
    }
    team_rng = seeder.rng("team")
    store.singletons["team"] = {
        "_private_fields": {},
        "allow_automated_email_steps": True,
        "call_recording_disabled": False,
        "click_tracking_default": True,
        "created_at": iso_from_us(BASE_US),
        "custom_tracking_domain": None,
        "deactivated": False,
        "dispositions_required": False,
        "email_daily_limit": 300,
        "group_privacy_setting": "all",
        "id": 1,
        "license_limit": 100,
        "local_dial_enabled": False,
        "name": "Sandbox Team",
        "plan": "advanced",
        "plan_features": {},
        "record_by_default": False,
        "sentiments_required": False,
        "team_visibility_default": "public",
        "updated_at": iso_from_us(BASE_US + _below(team_rng, SPAN_US)),
    }
