// Update control's pure core (docs/update-control.md): no I/O, no clock.
export { BUCKETS, bucketOf, decide, explain, inPercentage, isControlled, isFull, type ChannelRelease, type Decision, type DeviceFacts, type DeviceIdentity, type Reason, type RefreshFacts } from './decide.ts';
export { atStep, evaluateStep, explainVerdict, failRule, parseDuration, parsePlan, PlanError, MAX_STEPS, type PlanCounts, type PlanStep, type PlanVerdict, type RolloutPlan } from './plan.ts';
export { formatWindows, inWindow, parseWindow, WindowError, type MaintenanceWindow } from './window.ts';
