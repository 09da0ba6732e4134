// Update control's pure core (docs/update-control.md): no I/O, no clock.
export { BUCKETS, bucketOf, decide, explain, inPercentage, isControlled, isFull, type ChannelRelease, type Decision, type DeviceFacts, type DeviceIdentity, type Reason, type RefreshFacts } from './decide.ts';
