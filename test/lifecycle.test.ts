import { expect } from 'chai';
import { addDays, dayNumber, dueReminder, fromDayNumber, localDay, nextReminder, renewedEndDate, subscriptionActions, subscriptionState, type ReminderKind } from '../src/domain/lifecycle.js';

const END = '2026-06-30';
const on = (offset: number) => addDays(END, offset);

describe('subscription life cycle', () => {
  it('is active through the end date, then expired, disabled and deprovisioned at the boundaries', () => {
    expect(subscriptionState(END, on(-60))).to.equal('active');
    expect(subscriptionState(END, on(0)), 'day 0').to.equal('active');
    expect(subscriptionState(END, on(1))).to.equal('expired');
    expect(subscriptionState(END, on(30)), 'day 30: the 30th day of use after the end').to.equal('expired');
    expect(subscriptionState(END, on(31)), 'day 31').to.equal('disabled');
    expect(subscriptionState(END, on(120)), 'day 120: the data is kept up to 120 days after the end').to.equal('disabled');
    expect(subscriptionState(END, on(121)), 'day 121').to.equal('deprovisioned');
  });

  it('allows renewal and a switch to direct billing on a partner-billed subscription until its data is deleted', () => {
    const days = { graceDays: 30, deprovisionDays: 120 };
    const partner = { billing: 'partner' as const, endDate: END };
    expect(subscriptionActions(partner, on(120), days)).to.deep.equal({ canRenew: true, canSwitch: true });
    expect(subscriptionActions(partner, on(121), days), 'data deleted').to.deep.equal({ canRenew: false, canSwitch: false });
    expect(subscriptionActions({ ...partner, billing: 'direct' }, on(-10), days), 'already direct').to.deep.equal({ canRenew: false, canSwitch: false });
  });

  it('takes the day counts from configuration', () => {
    const days = { graceDays: 10, deprovisionDays: 20 };
    expect(subscriptionState(END, on(10), days)).to.equal('expired');
    expect(subscriptionState(END, on(11), days)).to.equal('disabled');
    expect(subscriptionState(END, on(20), days)).to.equal('disabled');
    expect(subscriptionState(END, on(21), days)).to.equal('deprovisioned');
  });

  it('renews from the end date before expiry and from the renewal day afterwards', () => {
    expect(renewedEndDate(END, on(-45), 12)).to.equal('2027-06-30');
    expect(renewedEndDate(END, on(0), 12)).to.equal('2027-06-30');
    expect(renewedEndDate(END, on(1), 12), 'expired: a reactivation from today').to.equal('2027-07-01');
    expect(renewedEndDate(END, on(100), 1)).to.equal(addDays(on(100), 31));
    expect(renewedEndDate(END, on(120), 1), 'the last day the data is kept').to.equal(addDays(on(120), 31));
    expect(renewedEndDate(END, on(121), 12), 'deprovisioned: nothing to renew').to.equal(undefined);
  });
});

describe('reminders', () => {
  const none = new Set<ReminderKind>();

  it('falls due 60, 30, 7 and 1 days before the end and after it', () => {
    expect(dueReminder(END, on(-61), none)).to.equal(undefined);
    expect(dueReminder(END, on(-60), none)).to.deep.equal({ send: 'before60', skip: [] });
    expect(dueReminder(END, on(-30), new Set<ReminderKind>(['before60']))).to.deep.equal({ send: 'before30', skip: [] });
    expect(dueReminder(END, on(-29), new Set<ReminderKind>(['before60', 'before30']))).to.equal(undefined);
    expect(dueReminder(END, on(1), new Set<ReminderKind>(['before60', 'before30', 'before7', 'before1']))).to.deep.equal({ send: 'expired', skip: [] });
    expect(dueReminder(END, on(30), new Set<ReminderKind>(['before60', 'before30', 'before7', 'before1', 'expired'])), 'still usable on day 30').to.equal(undefined);
    expect(dueReminder(END, on(31), new Set<ReminderKind>(['before60', 'before30', 'before7', 'before1', 'expired']))?.send).to.equal('disabled');
    expect(dueReminder(END, on(113), new Set<ReminderKind>(['before60', 'before30', 'before7', 'before1', 'expired', 'disabled'])), 'eight days before deletion').to.equal(undefined);
    expect(dueReminder(END, on(114), new Set<ReminderKind>(['before60', 'before30', 'before7', 'before1', 'expired', 'disabled']))?.send).to.equal('deletionSoon');
    // Missed while the bot was down: still sent on the last day the data is kept, not after.
    expect(dueReminder(END, on(120), new Set<ReminderKind>(['before60', 'before30', 'before7', 'before1', 'expired', 'disabled']))?.send, 'the last day the data is kept').to.equal('deletionSoon');
    expect(dueReminder(END, on(121), new Set<ReminderKind>(['before60', 'before30', 'before7', 'before1', 'expired', 'disabled'])), 'the data is deleted').to.equal(undefined);
  });

  it('sends only the most urgent reminder after downtime and skips the ones it overtook', () => {
    expect(dueReminder(END, on(-5), none)).to.deep.equal({ send: 'before7', skip: ['before60', 'before30'] });
    expect(dueReminder(END, on(3), new Set<ReminderKind>(['before60']))).to.deep.equal({ send: 'expired', skip: ['before30', 'before7', 'before1'] });
    expect(dueReminder(END, on(125), none), 'nothing after deletion').to.equal(undefined);
  });

  it('points "remind me later" to the next reminder of the cycle', () => {
    expect(nextReminder(END, on(-60))).to.deep.equal({ kind: 'before30', due: on(-30) });
    expect(nextReminder(END, on(-1))).to.deep.equal({ kind: 'expired', due: on(1) });
  });
});

describe('day numbers', () => {
  it('give back the calendar day they were made from, across month, leap-day and year ends', () => {
    for (const day of ['1970-01-01', '2024-02-28', '2024-02-29', '2024-03-01', '2026-12-31', '2027-01-01', '2099-12-31']) {
      expect(fromDayNumber(dayNumber(day))).to.equal(day);
      expect(fromDayNumber(dayNumber(day) + 1)).to.equal(addDays(day, 1));
    }
  });
});

describe('the calendar day in a time zone', () => {
  it("turns over at the zone's own midnight, also when asked again within the same second", () => {
    // Berlin is UTC+1 in winter and UTC+2 in summer; Kiritimati is UTC+14.
    const beforeMidnight = new Date('2026-12-04T22:59:59.001Z');
    expect(localDay(beforeMidnight, 'Europe/Berlin')).to.equal('2026-12-04');
    expect(localDay(new Date('2026-12-04T22:59:59.999Z'), 'Europe/Berlin')).to.equal('2026-12-04');
    expect(localDay(new Date('2026-12-04T23:00:00.000Z'), 'Europe/Berlin')).to.equal('2026-12-05');
    expect(localDay(new Date('2026-12-04T23:00:00.000Z'), 'Pacific/Kiritimati')).to.equal('2026-12-05');
    expect(localDay(new Date('2026-12-04T23:00:00.000Z'), 'UTC')).to.equal('2026-12-04');
    expect(localDay(new Date('2026-07-04T22:00:00.000Z'), 'Europe/Berlin'), 'summer time').to.equal('2026-07-05');
    expect(localDay(beforeMidnight, 'Europe/Berlin'), 'back in time').to.equal('2026-12-04');
  });
});
