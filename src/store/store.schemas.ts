// The store's route schemas (TypeBox): what fastify validates, what the
// OpenAPI document at /api/docs shows, and, through the type provider, the
// types of the route handlers' inputs. The service takes the same types
// (`Static<typeof X>`). The publisher API refuses properties it does not
// know; snapd-facing bodies are typed field by field but take the fields
// snapd sends that the store ignores.
import { Type, type Static } from 'typebox';

// --- shared pieces -----------------------------------------------------------

export const STORE_ID = /^[a-zA-Z0-9](?:[a-zA-Z0-9._-]{0,62}[a-zA-Z0-9])?$/;

const Name = Type.String({ maxLength: 64 });
const Channels = Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 50 });

export const SnapParams = Type.Object({ snap: Name });
export const SnapQuery = Type.Object({ store: Type.Optional(Name) }, { additionalProperties: false });
export const StoreParams = Type.Object({ store: Name });
export const CollaboratorParams = Type.Object({ snap: Name, account: Name });

// --- publisher API: bodies ---------------------------------------------------

/** Who sees a store's private snaps: 'verified' (device sessions of its models, store-download credentials; the default) or 'store-id' (any request naming the store). */
const PrivateAccessSchema = Type.Union([Type.Literal('verified'), Type.Literal('store-id')]);

export const CreateStoreBody = Type.Object(
  {
    storeId: Type.String({ pattern: STORE_ID.source }),
    brand: Name,
    includes: Type.Optional(Type.Array(Type.String(), { maxItems: 20 })),
    privateAccess: Type.Optional(PrivateAccessSchema),
  },
  { additionalProperties: false },
);
export type CreateStoreInput = Static<typeof CreateStoreBody>;

/** What a brand's admin may change about its store (PATCH /api/store/stores/{store}). */
export const StoreSettingsBody = Type.Object({ privateAccess: Type.Optional(PrivateAccessSchema) }, { additionalProperties: false });
export type StoreSettingsInput = Static<typeof StoreSettingsBody>;

export const RegisterSnapBody = Type.Object(
  {
    name: Name,
    publisher: Type.Optional(Name),
    private: Type.Optional(Type.Boolean()),
    defaultTrack: Type.Optional(Type.String({ maxLength: 28 })),
  },
  { additionalProperties: false },
);
export type RegisterSnapInput = Static<typeof RegisterSnapBody>;

export const UploadQuery = Type.Object({ store: Type.Optional(Name), release: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false });

export const ReleaseBody = Type.Object(
  {
    revision: Type.Integer({ minimum: 1 }),
    channels: Channels,
    progressivePercentage: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    /** Update control's health rules: when a device offered the revision counts as failed, and at what share of failed devices the rollout pauses by itself. */
    health: Type.Optional(
      Type.Object(
        {
          failAfterCheckins: Type.Integer({ minimum: 1, maximum: 1000 }),
          /** ... or this many seconds after it downloaded the revision. */
          failAfterSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 90 * 86_400 })),
          errorThreshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
          minDevices: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
        },
        { additionalProperties: false },
      ),
    ),
    /** A rollout plan (steps, soak times, thresholds, windows): checked by the pure core's parsePlan, whose errors name the field. */
    plan: Type.Optional(Type.Object({}, { additionalProperties: true })),
    /** Device groups whose devices are offered the revision whatever their bucket (alone: only them). */
    groups: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 20 })),
  },
  { additionalProperties: false },
);
export type ReleaseInput = Static<typeof ReleaseBody>;

/** The channel a rollout action acts on (every architecture's release there). */
export const RolloutBody = Type.Object({ channel: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
export type RolloutBodyInput = Static<typeof RolloutBody>;
/** A channel's maintenance windows: [{days?, start, end}] (UTC), [] for none. */
export const WindowsBody = Type.Object({ channel: Type.String({ minLength: 1, maxLength: 200 }), windows: Type.Array(Type.Unknown(), { maxItems: 50 }) }, { additionalProperties: false });
export const RolloutQuery = Type.Object({ store: Type.Optional(Name), channel: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });

/** `rollout why`: the device by serial (and model when several share it), the channel (default: stable of the default track), one architecture or all. */
export const WhyQuery = Type.Object(
  {
    store: Type.Optional(Name),
    serial: Type.String({ minLength: 1, maxLength: 128 }),
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    channel: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    architecture: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type WhyQueryInput = Static<typeof WhyQuery>;

/** Device groups (update control): a name, and models, serials, a serial glob (`*`, `?`). */
export const MAX_GROUP_SERIALS = 10_000;
const GroupName = Type.String({ pattern: '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$' });
const Models = Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 100 });
const Serials = Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: MAX_GROUP_SERIALS });
/** A device label: lowercase letters, digits, '.', '_', '-', up to 64. */
const Label = Type.String({ pattern: '^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$' });
export const MAX_DEVICE_LABELS = 50;
const Labels = Type.Array(Label, { maxItems: MAX_DEVICE_LABELS });
export const GroupParams = Type.Object({ store: Name, group: Type.String({ maxLength: 64 }) });
/** The labels of one device of a store (replaced as a whole; an empty list removes them). */
export const DeviceLabelsBody = Type.Object(
  { brand: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })), model: Type.String({ minLength: 1, maxLength: 128 }), serial: Type.String({ minLength: 1, maxLength: 128 }), labels: Labels },
  { additionalProperties: false },
);
export type DeviceLabelsInput = Static<typeof DeviceLabelsBody>;
export const DeviceLabelsQuery = Type.Object(
  { serial: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })), label: Type.Optional(Label), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })), after: Type.Optional(Type.String({ maxLength: 400 })) },
  { additionalProperties: false },
);
export type DeviceLabelsQueryInput = Static<typeof DeviceLabelsQuery>;

// --- approvals (update control) ------------------------------------------------

/** The channels a store controls: RISK (every track's) or TRACK/RISK. */
export const ControlledChannelsBody = Type.Object({ channels: Type.Array(Type.String({ minLength: 1, maxLength: 60 }), { maxItems: 50 }) }, { additionalProperties: false });
export const ApprovalsQuery = Type.Object({ all: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
export const ApprovalParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });
// --- validation sets (update control) -------------------------------------------

export const AccountParams = Type.Object({ account: Name });
/** A signed validation-set, or headers (name, sequence, snaps…) the server signs with `key`, a brand key in its custody. */
export const ValidationSetBody = Type.Object(
  {
    assertion: Type.Optional(Type.String({ maxLength: 1_000_000 })),
    headers: Type.Optional(Type.Object({}, { additionalProperties: true })),
    key: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);
/** Gating: the snaps (names in the snap's store, or snap-ids) whose refreshes the snap gates; [] for none. */
export const RefreshControlBody = Type.Object({ snaps: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 100 }) }, { additionalProperties: false });
/** Gating: a `validation` assertion signed by the gating snap's publisher. */
export const ValidationBody = Type.Object({ assertion: Type.String({ minLength: 1, maxLength: 100_000 }) }, { additionalProperties: false });
/** Explicit health reports of a device (update control): per snap revision it runs, okay or error. */
export const HealthReportBody = Type.Object(
  {
    reports: Type.Array(
      Type.Object(
        {
          'snap-id': Type.String({ minLength: 1, maxLength: 64 }),
          revision: Type.Integer({ minimum: 1 }),
          status: Type.Union([Type.Literal('okay'), Type.Literal('error')]),
          message: Type.Optional(Type.String({ maxLength: 1000 })),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 100 },
    ),
  },
  { additionalProperties: false },
);
export const DecisionBody = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false });
export const GroupBody = Type.Object(
  { name: GroupName, models: Type.Optional(Models), serials: Type.Optional(Serials), serialPattern: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f]+$' })), labels: Type.Optional(Labels) },
  { additionalProperties: false },
);
export type GroupInput = Static<typeof GroupBody>;
export const GroupMembersBody = Type.Object({ models: Type.Optional(Models), serials: Type.Optional(Serials), labels: Type.Optional(Labels) }, { additionalProperties: false });
export type GroupMembersInput = Static<typeof GroupMembersBody>;
export const GroupHoldBody = Type.Object({ held: Type.Boolean() }, { additionalProperties: false });

export const CloseBody = Type.Object({ channels: Channels }, { additionalProperties: false });
export type CloseInput = Static<typeof CloseBody>;

export const CollaboratorBody = Type.Object({ account: Name }, { additionalProperties: false });
export type CollaboratorInput = Static<typeof CollaboratorBody>;

// --- publisher API: answers (for OpenAPI and the serializer; all fields optional, as before) ---

const StoreJson = Type.Partial(Type.Object({ storeId: Type.String(), brandId: Type.String(), includes: Type.Array(Type.String()), createdAt: Type.String(), privateAccess: Type.String() }));
const SnapJson = Type.Partial(
  Type.Object({ snapId: Type.String(), storeId: Type.String(), name: Type.String(), publisherId: Type.String(), private: Type.Boolean(), defaultTrack: Type.String(), createdAt: Type.String() }),
);
const RevisionJson = Type.Object(
  {
    revision: Type.Optional(Type.Integer()),
    version: Type.Optional(Type.String()),
    type: Type.Optional(Type.String()),
    architectures: Type.Optional(Type.Array(Type.String())),
    sha3_384: Type.Optional(Type.String()),
    size: Type.Optional(Type.Integer()),
  },
  { additionalProperties: true },
);
const ChannelMapJson = Type.Array(Type.Object({}, { additionalProperties: true }));
const Collaborators = Type.Object({ collaborators: Type.Optional(Type.Array(Type.String())) });

export const Answers = {
  storeCreated: Type.Object({ store: Type.Optional(StoreJson), assertion: Type.Optional(Type.String()) }),
  stores: Type.Object({ stores: Type.Optional(Type.Array(StoreJson)) }),
  store: Type.Object({ store: Type.Optional(StoreJson) }),
  snapRegistered: Type.Object({ snap: Type.Optional(SnapJson), assertion: Type.Optional(Type.String()) }),
  status: Type.Object({ snap: Type.Optional(SnapJson), collaborators: Type.Optional(Type.Array(Type.String())), channelMap: Type.Optional(ChannelMapJson) }),
  revisions: Type.Object({ revisions: Type.Optional(Type.Array(RevisionJson)) }),
  uploaded: Type.Object({ revision: Type.Optional(RevisionJson), assertion: Type.Optional(Type.String()), released: Type.Optional(Type.Array(Type.String())), pending: Type.Optional(Type.Object({}, { additionalProperties: true })) }),
  released: Type.Object({ released: Type.Optional(Type.Array(Type.String())), channelMap: Type.Optional(ChannelMapJson), pending: Type.Optional(Type.Object({}, { additionalProperties: true })) }),
  controlledChannels: Type.Object({ channels: Type.Optional(Type.Array(Type.String())) }),
  approvals: Type.Object({ requests: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))) }),
  validationSets: Type.Object({ validationSets: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))) }),
  validationSet: Type.Object({ validationSet: Type.Optional(Type.Object({}, { additionalProperties: true })), unchanged: Type.Optional(Type.Boolean()) }),
  refreshControl: Type.Object({ refreshControl: Type.Optional(Type.Array(Type.String())), assertion: Type.Optional(Type.String()) }),
  validation: Type.Object({ validation: Type.Optional(Type.Object({}, { additionalProperties: true })) }),
  decided: Type.Object({ request: Type.Optional(Type.Object({}, { additionalProperties: true })), released: Type.Optional(Type.Array(Type.String())) }),
  closed: Type.Object({ closed: Type.Optional(Type.Array(Type.String())), channelMap: Type.Optional(ChannelMapJson) }),
  collaborators: Collaborators,
  group: Type.Object({ group: Type.Optional(Type.Object({}, { additionalProperties: true })) }),
  groups: Type.Object({ groups: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))) }),
  deviceLabels: Type.Object({ device: Type.Optional(Type.Object({}, { additionalProperties: true })) }),
  labelledDevices: Type.Object({ devices: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))), next: Type.Optional(Type.Union([Type.String(), Type.Null()])) }),
  rollout: Type.Object({ snap: Type.Optional(Type.String()), channel: Type.Optional(Type.String()), releases: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))) }),
  why: Type.Object({
    snap: Type.Optional(Type.String()),
    channel: Type.Optional(Type.String()),
    device: Type.Optional(Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()])),
    heldBy: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    answers: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))),
  }),
};

// --- snapd-facing API ---------------------------------------------------------

export const SessionRequestBody = Type.Object({
  'device-session-request': Type.String(),
  'serial-assertion': Type.String(),
  'model-assertion': Type.String(),
});
export type SessionRequestInput = Static<typeof SessionRequestBody>;

const Epoch = Type.Object({
  read: Type.Optional(Type.Union([Type.Array(Type.Number()), Type.Null()])),
  write: Type.Optional(Type.Union([Type.Array(Type.Number()), Type.Null()])),
});

/** What an installed snap tells the store (snapd's currentSnapV2JSON); snapd's other fields are taken and ignored. */
export const RefreshContext = Type.Object({
  'snap-id': Type.Optional(Type.String()),
  'instance-key': Type.Optional(Type.String()),
  revision: Type.Optional(Type.Number()),
  'tracking-channel': Type.Optional(Type.String()),
  'cohort-key': Type.Optional(Type.String()),
  epoch: Type.Optional(Epoch),
});
export type RefreshContextEntry = Static<typeof RefreshContext>;

/** One assertion a fetch-assertions action asks for (snapd's AssertionQuery). */
export const AssertionQuery = Type.Object({
  type: Type.Optional(Type.String()),
  'primary-key': Type.Optional(Type.Array(Type.String())),
  'sequence-key': Type.Optional(Type.Array(Type.String())),
  sequence: Type.Optional(Type.Number()),
  'if-newer-than': Type.Optional(Type.Number()),
  'if-sequence-equal-or-newer-than': Type.Optional(Type.Number()),
});
export type AssertionQueryInput = Static<typeof AssertionQuery>;

/** One action (snapd's SnapActionJSON). An unknown `action` is answered in the error-list, as the snap store does. */
export const RefreshAction = Type.Object({
  action: Type.Optional(Type.String()),
  'instance-key': Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  'snap-id': Type.Optional(Type.String()),
  channel: Type.Optional(Type.String()),
  revision: Type.Optional(Type.Number()),
  'cohort-key': Type.Optional(Type.String()),
  key: Type.Optional(Type.String()),
  assertions: Type.Optional(Type.Array(AssertionQuery, { maxItems: 5000 })),
});
export type RefreshActionInput = Static<typeof RefreshAction>;

export const SnapActionBody = Type.Object({
  context: Type.Optional(Type.Array(RefreshContext, { maxItems: 5000 })),
  actions: Type.Array(RefreshAction, { maxItems: 5000 }),
  fields: Type.Optional(Type.Array(Type.String())),
  'assertion-max-formats': Type.Optional(Type.Record(Type.String(), Type.Number())),
});
export type SnapActionInput = Static<typeof SnapActionBody>;

export const MAX_COHORT_SNAPS = 100;
export const CohortsBody = Type.Object({ snaps: Type.Array(Type.String({ minLength: 1, maxLength: 40 }), { minItems: 1, maxItems: MAX_COHORT_SNAPS }) });
export type CohortsInput = Static<typeof CohortsBody>;

export const AssertionQueryString = Type.Object({
  'max-format': Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
  chain: Type.Optional(Type.Boolean()),
  sequence: Type.Optional(Type.String({ maxLength: 32 })),
});
export const AssertionParams = Type.Object({ '*': Type.String() });
export const InfoParams = Type.Object({ name: Type.String() });
export const InfoQuery = Type.Object({ architecture: Type.Optional(Type.String({ maxLength: 64 })), fields: Type.Optional(Type.String({ maxLength: 4096 })) });
export const FindQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 200 })),
  name: Type.Optional(Type.String({ maxLength: 200 })),
  architecture: Type.Optional(Type.String({ maxLength: 64 })),
  channel: Type.Optional(Type.String({ maxLength: 200 })),
  private: Type.Optional(Type.String({ maxLength: 8 })),
  fields: Type.Optional(Type.String({ maxLength: 4096 })),
});
export type FindInput = Static<typeof FindQuery>;
export const DownloadParams = Type.Object({ digest: Type.String(), file: Type.String() });
