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
    BulkRescheduleTasks,
    Calls,
    Emails,
    Notes,
    Successes,
    Tasks,
    ThirdPartyLiveFeedItems,
)
from .bulk_jobs import BulkJobRun, BulkJobs
from .cadences import CadenceExports, CadenceImports, CadenceMemberships, Cadences, CadenceStats
from .calls import CallDataRecords, CallDispositions, CallSentiments, ConversationsCalls
from .conversations import Conversations, Transcriptions
from .crm import (
    AccountTeamMemberRoles,
    CrmAccountTeamMembers,
    CrmActivities,
    CrmActivityFields,
    CrmUsers,
)
from .custom_fields import CustomFields
from .data_control import DataControl, DataControlRequests
from .email_delivery import ExternalEmails, MimeEmailPayloads, PendingEmails
from .external_ids import ExternalConfigurations, ExternalMappings
from .imports import Imports
from .meetings import CalendarEvents, MeetingRescheduleLinks, Meetings
from .opportunities import Opportunities, OpportunityPeople, OpportunityStages
from .people import People
from .phone_numbers import CallerIds, PhoneNumberAssignments, RecordingSettings
from .signals import PlayRegistrations, SignalRegistrations, Signals
from .stages import AccountStages, AccountTiers, PersonStages
from .steps import Actions, CallInstructions, OngoingActions, Steps
from .tags import SavedListViews, Tags
from .templates import (
    EmailMissingTags,
    EmailTemplateAttachments,
    EmailTemplates,
    TeamTemplateAttachments,
    TeamTemplates,
)
from .tracking import LiveWebsiteTrackingParameters
from .users import CustomRoles, Groups, Me, Profiles, Team, Users
from .webhooks import WebhookSubscriptions

if TYPE_CHECKING:
    from ..transport import Transport

__all__ = [
    "UNSET",
    "AccountStages",
    "AccountTeamMemberRoles",
    "AccountTiers",
    "Accounts",
    "Actions",
    "Activities",
    "ActivityHistories",
    "BulkJobRun",
    "BulkJobs",
    "BulkRescheduleTasks",
    "CadenceExports",
    "CadenceImports",
    "CadenceMemberships",
    "CadenceStats",
    "Cadences",
    "CalendarEvents",
    "CallDataRecords",
    "CallDispositions",
    "CallInstructions",
    "CallSentiments",
    "CallerIds",
    "Calls",
    "Conversations",
    "ConversationsCalls",
    "CrmAccountTeamMembers",
    "CrmActivities",
    "CrmActivityFields",
    "CrmUsers",
    "CustomFields",
    "CustomRoles",
    "DataControl",
    "DataControlRequests",
    "DatetimeRange",
    "EmailMissingTags",
    "EmailTemplateAttachments",
    "EmailTemplates",
    "Emails",
    "ExternalConfigurations",
    "ExternalEmails",
    "ExternalMappings",
    "Groups",
    "IdRange",
    "Imports",
    "ListResource",
    "LiveWebsiteTrackingParameters",
    "Me",
    "MeetingRescheduleLinks",
    "Meetings",
    "MimeEmailPayloads",
    "Notes",
    "OngoingActions",
    "Opportunities",
    "OpportunityPeople",
    "OpportunityStages",
    "PendingEmails",
    "People",
    "PersonStages",
    "PhoneNumberAssignments",
    "PlayRegistrations",
    "Profiles",
    "RecordingSettings",
    "Resource",
    "Resources",
    "SavedListViews",
    "SignalRegistrations",
    "Signals",
    "Steps",
    "Successes",
    "Tags",
    "Tasks",
    "Team",
    "TeamTemplateAttachments",
    "TeamTemplates",
    "ThirdPartyLiveFeedItems",
    "Transcriptions",
    "Unset",
    "Upserted",
    "Users",
    "WebhookSubscriptions",
]


class Resources:
    """Mixed into `SalesloftClient`; each resource is built on the client's one transport."""

    account_stages: AccountStages
    account_team_member_roles: AccountTeamMemberRoles
    account_tiers: AccountTiers
    accounts: Accounts
    actions: Actions
    activities: Activities
    activity_histories: ActivityHistories
    bulk_jobs: BulkJobs
    bulk_reschedule_tasks: BulkRescheduleTasks
    cadence_exports: CadenceExports
    cadence_imports: CadenceImports
    cadence_memberships: CadenceMemberships
    cadence_stats: CadenceStats
    cadences: Cadences
    calendar_events: CalendarEvents
    call_data_records: CallDataRecords
    call_dispositions: CallDispositions
    call_instructions: CallInstructions
    call_sentiments: CallSentiments
    caller_ids: CallerIds
    calls: Calls
    conversations: Conversations
    conversations_calls: ConversationsCalls
    crm_account_team_members: CrmAccountTeamMembers
    crm_activities: CrmActivities
    crm_activity_fields: CrmActivityFields
    crm_users: CrmUsers
    custom_fields: CustomFields
    custom_roles: CustomRoles
    data_control: DataControl
    data_control_requests: DataControlRequests
    email_missing_tags: EmailMissingTags
    email_template_attachments: EmailTemplateAttachments
    email_templates: EmailTemplates
    emails: Emails
    external_configurations: ExternalConfigurations
    external_emails: ExternalEmails
    external_mappings: ExternalMappings
    groups: Groups
    imports: Imports
    live_website_tracking_parameters: LiveWebsiteTrackingParameters
    me: Me
    meeting_reschedule_links: MeetingRescheduleLinks
    meetings: Meetings
    mime_email_payloads: MimeEmailPayloads
    notes: Notes
    ongoing_actions: OngoingActions
    opportunities: Opportunities
    opportunity_people: OpportunityPeople
    opportunity_stages: OpportunityStages
    pending_emails: PendingEmails
    people: People
    person_stages: PersonStages
    phone_number_assignments: PhoneNumberAssignments
    play_registrations: PlayRegistrations
    profiles: Profiles
    recording_settings: RecordingSettings
    saved_list_views: SavedListViews
    signal_registrations: SignalRegistrations
    signals: Signals
    steps: Steps
    successes: Successes
    tags: Tags
    tasks: Tasks
    team: Team
    team_template_attachments: TeamTemplateAttachments
    team_templates: TeamTemplates
    third_party_live_feed_items: ThirdPartyLiveFeedItems
    transcriptions: Transcriptions
    users: Users
    webhook_subscriptions: WebhookSubscriptions

    def _init_resources(self, transport: Transport) -> None:
        self.account_stages = AccountStages(transport)
        self.account_team_member_roles = AccountTeamMemberRoles(transport)
        self.account_tiers = AccountTiers(transport)
        self.accounts = Accounts(transport)
        self.actions = Actions(transport)
        self.activities = Activities(transport)
        self.activity_histories = ActivityHistories(transport)
        self.bulk_jobs = BulkJobs(transport)
        self.bulk_reschedule_tasks = BulkRescheduleTasks(transport)
        self.cadence_exports = CadenceExports(transport)
        self.cadence_imports = CadenceImports(transport)
        self.cadence_memberships = CadenceMemberships(transport)
        self.cadence_stats = CadenceStats(transport)
        self.cadences = Cadences(transport)
        self.calendar_events = CalendarEvents(transport)
        self.call_data_records = CallDataRecords(transport)
        self.call_dispositions = CallDispositions(transport)
        self.call_instructions = CallInstructions(transport)
        self.call_sentiments = CallSentiments(transport)
        self.caller_ids = CallerIds(transport)
        self.calls = Calls(transport)
        self.conversations = Conversations(transport)
        self.conversations_calls = ConversationsCalls(transport)
        self.crm_account_team_members = CrmAccountTeamMembers(transport)
        self.crm_activities = CrmActivities(transport)
        self.crm_activity_fields = CrmActivityFields(transport)
        self.crm_users = CrmUsers(transport)
        self.custom_fields = CustomFields(transport)
        self.custom_roles = CustomRoles(transport)
        self.data_control = DataControl(transport)
        self.data_control_requests = DataControlRequests(transport)
        self.email_missing_tags = EmailMissingTags(transport)
        self.email_template_attachments = EmailTemplateAttachments(transport)
        self.email_templates = EmailTemplates(transport)
        self.emails = Emails(transport)
        self.external_configurations = ExternalConfigurations(transport)
        self.external_emails = ExternalEmails(transport)
        self.external_mappings = ExternalMappings(transport)
        self.groups = Groups(transport)
        self.imports = Imports(transport)
        self.live_website_tracking_parameters = LiveWebsiteTrackingParameters(transport)
        self.me = Me(transport)
        self.meeting_reschedule_links = MeetingRescheduleLinks(transport)
        self.meetings = Meetings(transport)
        self.mime_email_payloads = MimeEmailPayloads(transport)
        self.notes = Notes(transport)
        self.ongoing_actions = OngoingActions(transport)
        self.opportunities = Opportunities(transport)
        self.opportunity_people = OpportunityPeople(transport)
        self.opportunity_stages = OpportunityStages(transport)
        self.pending_emails = PendingEmails(transport)
        self.people = People(transport)
        self.person_stages = PersonStages(transport)
        self.phone_number_assignments = PhoneNumberAssignments(transport)
        self.play_registrations = PlayRegistrations(transport)
        self.profiles = Profiles(transport)
        self.recording_settings = RecordingSettings(transport)
        self.saved_list_views = SavedListViews(transport)
        self.signal_registrations = SignalRegistrations(transport)
        self.signals = Signals(transport)
        self.steps = Steps(transport)
        self.successes = Successes(transport)
        self.tags = Tags(transport)
        self.tasks = Tasks(transport)
        self.team = Team(transport)
        self.team_template_attachments = TeamTemplateAttachments(transport)
        self.team_templates = TeamTemplates(transport)
        self.third_party_live_feed_items = ThirdPartyLiveFeedItems(transport)
        self.transcriptions = Transcriptions(transport)
        self.users = Users(transport)
        self.webhook_subscriptions = WebhookSubscriptions(transport)
