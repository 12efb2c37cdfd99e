import { describe, expect, it } from 'vitest';
import type { WorkRequest } from '../api/types';
import { sortRequests } from './DesignerQueue';
import { requestGroup } from './MyRequests';

function request(id: number, patch: Partial<WorkRequest>): WorkRequest {
  return {
    id,
    title: `#${id}`,
    description: '',
    priority: 'normal',
    dueDate: '2027-01-10',
    status: 'pending',
    requesterId: 1,
    requesterName: 'Alice',
    assigneeId: null,
    createdAt: `2026-12-0${id}T09:00:00.000Z`,
    updatedAt: `2026-12-0${id}T09:00:00.000Z`,
    ...patch,
  } as WorkRequest;
}

describe('My requests: Upcoming, Past, Cancelled', () => {
  const today = '2027-01-10';
  it('puts an open request due today or later under Upcoming, one due before today under Past', () => {
    expect(requestGroup(request(1, { dueDate: today }), today)).toBe('upcoming');
    expect(requestGroup(request(1, { dueDate: '2027-02-01', status: 'in_progress' }), today)).toBe('upcoming');
    expect(requestGroup(request(1, { dueDate: '2027-01-09' }), today)).toBe('past');
  });
  it('puts finished requests under Past whatever their date, and cancelled ones under Cancelled', () => {
    expect(requestGroup(request(1, { dueDate: '2027-03-01', status: 'completed' }), today)).toBe('past');
    expect(requestGroup(request(1, { dueDate: '2027-03-01', status: 'rejected' }), today)).toBe('past');
    expect(requestGroup(request(1, { dueDate: '2027-03-01', status: 'cancelled' }), today)).toBe('cancelled');
    expect(requestGroup(request(1, { dueDate: '2027-01-01', status: 'cancelled' }), today)).toBe('cancelled');
  });
});

describe('the designer queue sorts', () => {
  const items = [
    request(1, { dueDate: '2027-01-12', priority: 'low' }),
    request(2, { dueDate: '2027-01-11', priority: 'normal' }),
    request(3, { dueDate: '2027-01-12', priority: 'urgent' }),
    request(4, { dueDate: '2027-01-13', priority: 'high' }),
  ];
  const ids = (list: WorkRequest[]) => list.map((r) => r.id);
  it('by due date, the more urgent first on the same day', () => {
    expect(ids(sortRequests(items, 'due'))).toEqual([2, 3, 1, 4]);
  });
  it('by priority, urgent first, then by due date', () => {
    expect(ids(sortRequests(items, 'priority'))).toEqual([3, 4, 2, 1]);
  });
  it('newest first, and never in place', () => {
    expect(ids(sortRequests(items, 'newest'))).toEqual([4, 3, 2, 1]);
    expect(ids(items)).toEqual([1, 2, 3, 4]);
  });
});
