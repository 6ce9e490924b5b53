"""The resource tree: one attribute of `SalesloftClient` per path group of the definition.

Attributes are declared with their classes so that an IDE completes ``sl.people.list(...)`` and
its keyword filters.  The classes come from the area modules (hand-written subclasses of the
generated bases in `_generated.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._base import UNSET, DatetimeRange, IdRange, ListResource, Resource, Unset, Upserted
from .accounts import Accounts
from .activities import (
    Activities,
    ActivityHistories,
    Calls,
    Emails,
    Notes,
    Successes,
    Tasks,
    ThirdPartyLiveFeedItems,
)
from .bulk_jobs import BulkJobRun, BulkJobs
from .cadences import CadenceExports, CadenceImports, CadenceMemberships, Cadences
from .calls import CallDataRecords, CallDispositions, CallSentiments, ConversationsCalls
from .crm import CrmActivities, CrmActivityFields, CrmUsers
from .custom_fields import CustomFields
from .email_delivery import ExternalEmails, MimeEmailPayloads, PendingEmails
from .imports import Imports
from .meetings import CalendarEvents, Meetings
from .people import People
from .phone_numbers import CallerIds, PhoneNumberAssignments, RecordingSettings
from .stages import AccountStages, AccountTiers, PersonStages
from .steps import Actions, CallInstructions, OngoingActions, Steps
from .tags import SavedListViews, Tags
from .templates import (
    EmailTemplateAttachments,
    EmailTemplates,
    TeamTemplateAttachments,
    TeamTemplates,
)
from .tracking import LiveWebsiteTrackingParameters
from .users import CustomRoles, Groups, Me, Team, Users
from .webhooks import WebhookSubscriptions

if TYPE_CHECKING:
    from ..transport import Transport

__all__ = [
    "UNSET",
    "AccountStages",
    "AccountTiers",
    "Accounts",
    "Actions",
    "Activities",
    "ActivityHistories",
    "BulkJobRun",
    "BulkJobs",
    "CadenceExports",
    "CadenceImports",
    "CadenceMemberships",
    "Cadences",
    "CalendarEvents",
    "CallDataRecords",
    "CallDispositions",
    "CallInstructions",
    "CallSentiments",
    "CallerIds",
    "Calls",
    "ConversationsCalls",
    "CrmActivities",
    "CrmActivityFields",
    "CrmUsers",
    "CustomFields",
    "CustomRoles",
    "DatetimeRange",
    "EmailTemplateAttachments",
    "EmailTemplates",
    "Emails",
    "ExternalEmails",
    "Groups",
    "IdRange",
    "Imports",
    "ListResource",
    "LiveWebsiteTrackingParameters",
    "Me",
    "Meetings",
    "MimeEmailPayloads",
    "Notes",
    "OngoingActions",
    "PendingEmails",
    "People",
    "PersonStages",
    "PhoneNumberAssignments",
    "RecordingSettings",
    "Resource",
    "Resources",
    "SavedListViews",
    "Steps",
    "Successes",
    "Tags",
    "Tasks",
    "Team",
    "TeamTemplateAttachments",
    "TeamTemplates",
    "ThirdPartyLiveFeedItems",
    "Unset",
    "Upserted",
    "Users",
    "WebhookSubscriptions",
]


class Resources:
    """Mixed into `SalesloftClient`; each resource is built on the client's one transport."""

    account_stages: AccountStages
    account_tiers: AccountTiers
    accounts: Accounts
    actions: Actions
    activities: Activities
    activity_histories: ActivityHistories
    bulk_jobs: BulkJobs
    cadence_exports: CadenceExports
    cadence_imports: CadenceImports
    cadence_memberships: CadenceMemberships
    cadences: Cadences
    calendar_events: CalendarEvents
    call_data_records: CallDataRecords
    call_dispositions: CallDispositions
    call_instructions: CallInstructions
    call_sentiments: CallSentiments
    caller_ids: CallerIds
    calls: Calls
    conversations_calls: ConversationsCalls
    crm_activities: CrmActivities
    crm_activity_fields: CrmActivityFields
    crm_users: CrmUsers
    custom_fields: CustomFields
    custom_roles: CustomRoles
    email_template_attachments: EmailTemplateAttachments
    email_templates: EmailTemplates
    emails: Emails
    external_emails: ExternalEmails
    groups: Groups
    imports: Imports
    live_website_tracking_parameters: LiveWebsiteTrackingParameters
    me: Me
    meetings: Meetings
    mime_email_payloads: MimeEmailPayloads
    notes: Notes
    ongoing_actions: OngoingActions
    pending_emails: PendingEmails
    people: People
    person_stages: PersonStages
    phone_number_assignments: PhoneNumberAssignments
    recording_settings: RecordingSettings
    saved_list_views: SavedListViews
    steps: Steps
    successes: Successes
    tags: Tags
    tasks: Tasks
    team: Team
    team_template_attachments: TeamTemplateAttachments
    team_templates: TeamTemplates
    third_party_live_feed_items: ThirdPartyLiveFeedItems
    users: Users
    webhook_subscriptions: WebhookSubscriptions

    def _init_resources(self, transport: Transport) -> None:
        self.account_stages = AccountStages(transport)
        self.account_tiers = AccountTiers(transport)
        self.accounts = Accounts(transport)
        self.actions = Actions(transport)
        self.activities = Activities(transport)
        self.activity_histories = ActivityHistories(transport)
        self.bulk_jobs = BulkJobs(transport)
        self.cadence_exports = CadenceExports(transport)
        self.cadence_imports = CadenceImports(transport)
        self.cadence_memberships = CadenceMemberships(transport)
        self.cadences = Cadences(transport)
        self.calendar_events = CalendarEvents(transport)
        self.call_data_records = CallDataRecords(transport)
        self.call_dispositions = CallDispositions(transport)
        self.call_instructions = CallInstructions(transport)
        self.call_sentiments = CallSentiments(transport)
        self.caller_ids = CallerIds(transport)
        self.calls = Calls(transport)
        self.conversations_calls = ConversationsCalls(transport)
        self.crm_activities = CrmActivities(transport)
        self.crm_activity_fields = CrmActivityFields(transport)
        self.crm_users = CrmUsers(transport)
        self.custom_fields = CustomFields(transport)
        self.custom_roles = CustomRoles(transport)
        self.email_template_attachments = EmailTemplateAttachments(transport)
        self.email_templates = EmailTemplates(transport)
        self.emails = Emails(transport)
        self.external_emails = ExternalEmails(transport)
        self.groups = Groups(transport)
        self.imports = Imports(transport)
        self.live_website_tracking_parameters = LiveWebsiteTrackingParameters(transport)
        self.me = Me(transport)
        self.meetings = Meetings(transport)
        self.mime_email_payloads = MimeEmailPayloads(transport)
        self.notes = Notes(transport)
        self.ongoing_actions = OngoingActions(transport)
        self.pending_emails = PendingEmails(transport)
        self.people = People(transport)
        self.person_stages = PersonStages(transport)
        self.phone_number_assignments = PhoneNumberAssignments(transport)
        self.recording_settings = RecordingSettings(transport)
        self.saved_list_views = SavedListViews(transport)
        self.steps = Steps(transport)
        self.successes = Successes(transport)
        self.tags = Tags(transport)
        self.tasks = Tasks(transport)
        self.team = Team(transport)
        self.team_template_attachments = TeamTemplateAttachments(transport)
        self.team_templates = TeamTemplates(transport)
        self.third_party_live_feed_items = ThirdPartyLiveFeedItems(transport)
        self.users = Users(transport)
        self.webhook_subscriptions = WebhookSubscriptions(transport)
