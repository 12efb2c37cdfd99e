// The contract's shapes (../shared/API.md), as the server sends them.

export type Role = 'requester' | 'designer' | 'admin';

export interface User {
  id: number;
  email: string;
  displayName: string;
  role: Role;
}

export interface LoginResponse {
  token: string;
  expiresAt: string;
  user: User;
}

export type Weekday =
  | 'monday'
  | 'tuesday'
  | 'wednesday'
  | 'thursday'
  | 'friday'
  | 'saturday'
  | 'sunday';

export const WEEKDAYS: Weekday[] = [
  'sunday',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
];

export interface Settings {
  dailyCapacity: number;
  limitedThresholdPercent: number;
  bookingWindowDays: number;
  closedWeekdays: Weekday[];
  timezone: string;
  today: string;
  minDate: string;
  maxDate: string;
  defaultDesignerId: number | null;
}

export type SettingsInput = Pick<
  Settings,
  | 'dailyCapacity'
  | 'limitedThresholdPercent'
  | 'bookingWindowDays'
  | 'closedWeekdays'
  | 'timezone'
  | 'defaultDesignerId'
>;

export type DayStatus = 'available' | 'limited' | 'full' | 'closed';

export interface Day {
  date: string;
  capacity: number;
  used: number;
  remaining: number;
  percent: number;
  status: DayStatus;
  version: number;
}

export interface Availability {
  version: number;
  days: Day[];
}

export interface CapacityChanges {
  version: number;
  resync: boolean;
  days: Day[];
}

/** The hub's `CapacityUpdated` argument: a Day plus when it happened. */
export interface CapacityUpdatedEvent extends Day {
  timestamp: string;
}

export interface CapacitySettingsChangedEvent {
  timestamp: string;
  version: number;
}

export type Priority = 'low' | 'normal' | 'high' | 'urgent';
export const PRIORITIES: Priority[] = ['low', 'normal', 'high', 'urgent'];

export type RequestStatus = 'pending' | 'in_progress' | 'completed' | 'rejected' | 'cancelled';
export const REQUEST_STATUSES: RequestStatus[] = [
  'pending',
  'in_progress',
  'completed',
  'rejected',
  'cancelled',
];

export interface WorkRequest {
  id: number;
  title: string;
  description: string | null;
  priority: Priority;
  dueDate: string;
  status: RequestStatus;
  requesterId: number;
  assigneeId: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface RequestInput {
  title: string;
  description?: string;
  priority?: Priority;
  dueDate: string;
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
}

export interface Notification {
  id: number;
  requestId: number | null;
  kind: string;
  message: string;
  read: boolean;
  createdAt: string;
}

export interface Inbox {
  items: Notification[];
  unreadCount: number;
}

export type ErrorCode =
  | 'bad_request'
  | 'validation_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'capacity_full'
  | 'date_closed'
  | 'date_out_of_window'
  | 'invalid_transition'
  | 'payload_too_large'
  | 'service_unavailable'
  | 'internal'
  | 'network';

export interface ErrorBody {
  error: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}
