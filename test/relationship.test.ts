import { expect } from 'chai';
import { catalogues, fill } from '../src/i18n/index.js';
import { ENTRA_ROLES, entraRole, GLOBAL_ADMINISTRATOR, ROLE_TEMPLATES, USER_ADMINISTRATOR } from '../src/domain/entraRoles.js';
import {
  approve,
  changeRoles,
  decline,
  dueRelationshipReminder,
  getsReminders,
  legacyRelationship,
  lockForApproval,
  mayAct,
  newRelationship,
  parseDurationDays,
  relationshipAt,
  removeGlobalAdministrator,
  setAutoExtend,
  terminate,
  validateRequest,
  type Relationship,
  type RelationshipError,
  type RelationshipReminderKind,
  type RequestError,
  type Transition,
} from '../src/domain/relationship.js';

const HELPDESK = '729827e3-9c14-49f7-bb1b-9608f156bbb8';
const READER = '88d8e3e3-8f55-4a1e-953a-9b9898b8876b';
const at = (iso: string) => new Date(iso);
const ok = (t: Transition): Relationship => {
  if (!t.ok) throw new Error(`refused: ${t.error}`);
  return t.relationship;
};
const error = (t: Transition) => (t.ok ? `allowed (${t.relationship.status})` : t.error);

function requested(options: { created?: string; duration?: string; autoExtend?: 'P180D' | 'PT0S'; roles?: string[] } = {}): Relationship {
  const created = at(options.created ?? '2026-01-10T08:00:00Z');
  const relationship = newRelationship(
    {
      id: 'r1',
      displayName: 'Contoso helpdesk',
      partnerTenantId: 'partner',
      customer: { tenantId: 'customer', displayName: 'Contoso' },
      roleIds: options.roles ?? [HELPDESK, READER],
      duration: options.duration ?? 'P730D',
      autoExtendDuration: options.autoExtend ?? 'PT0S',
    },
    created,
  );
  return ok(lockForApproval(relationship, created));
}

function activeFrom(activation: string, options: Parameters<typeof requested>[0] = {}): Relationship {
  return ok(approve(requested({ created: activation, ...options }), at(activation)));
}

describe('Entra role catalogue and templates', () => {
  it('holds the roles the issue lists with their template ids, and a name and description in both languages', () => {
    const names = ENTRA_ROLES.map((role) => role.name.en);
    for (const name of ['Global Reader', 'Directory Readers', 'Helpdesk Administrator', 'User Administrator', 'License Administrator', 'Privileged Authentication Administrator', 'Exchange Administrator', 'SharePoint Administrator', 'Teams Administrator', 'Security Reader', 'Security Administrator', 'Service Support Administrator', 'Cloud Device Administrator', 'Intune Administrator', 'Application Administrator', 'Billing Administrator', 'Global Administrator']) {
      expect(names, name).to.include(name);
    }
    expect(entraRole(GLOBAL_ADMINISTRATOR)?.name.en).to.equal('Global Administrator');
    expect(entraRole('FE930BE7-5E62-47DB-91AF-98C3A49A38B1')?.name.de, 'ids compare without case').to.equal('Benutzeradministrator');
    expect(new Set(ENTRA_ROLES.map((role) => role.id)).size).to.equal(ENTRA_ROLES.length);
    for (const role of ENTRA_ROLES) {
      expect(role.id, role.name.en).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      for (const text of [role.name.de, role.description.en, role.description.de]) expect(text.trim(), role.name.en).not.to.equal('');
    }
  });

  it('offers templates from the catalogue; only full administration is Global Administrator, with the least-privilege warning', () => {
    expect(ROLE_TEMPLATES.map((t) => t.name.en)).to.deep.equal(['Helpdesk', 'Users and licenses', 'Security operations', 'Full administration']);
    for (const template of ROLE_TEMPLATES) {
      for (const id of template.roleIds) expect(entraRole(id), template.id).not.to.equal(undefined);
      expect(template.roleIds.includes(GLOBAL_ADMINISTRATOR), template.id).to.equal(template.leastPrivilegeWarning);
    }
    expect(ROLE_TEMPLATES.find((t) => t.id === 'fullAdministration')!.roleIds).to.deep.equal([GLOBAL_ADMINISTRATOR]);
    expect(ROLE_TEMPLATES.find((t) => t.id === 'usersAndLicenses')!.roleIds).to.include(USER_ADMINISTRATOR);
  });
});

describe('relationship request validation', () => {
  const valid = { displayName: 'Contoso helpdesk', roleIds: [HELPDESK], duration: '', autoExtendDuration: '' };

  it('accepts a request with the defaults: 730 days, no auto-extension', () => {
    expect(validateRequest(valid, [])).to.deep.equal({ request: { displayName: 'Contoso helpdesk', roleIds: [HELPDESK], duration: 'P730D', autoExtendDuration: 'PT0S' } });
    expect(validateRequest({ ...valid, duration: '7', autoExtendDuration: 'p180d' }, [])).to.deep.include({ request: { displayName: 'Contoso helpdesk', roleIds: [HELPDESK], duration: 'P7D', autoExtendDuration: 'P180D' } });
    expect(validateRequest({ ...valid, duration: 'P2W', autoExtendDuration: 'P0D' }, [])).to.deep.include({ request: { displayName: 'Contoso helpdesk', roleIds: [HELPDESK], duration: 'P14D', autoExtendDuration: 'PT0S' } });
  });

  it('names the display name taken among the partner relationships, whatever the case, too long, or missing', () => {
    expect(validateRequest({ ...valid, displayName: 'CONTOSO Helpdesk' }, ['Fabrikam', 'Contoso helpdesk'])).to.deep.equal({ errors: [{ field: 'displayName', code: 'taken' }] });
    expect(validateRequest({ ...valid, displayName: 'x'.repeat(50) }, [])).to.have.property('request');
    expect(validateRequest({ ...valid, displayName: 'x'.repeat(51) }, [])).to.deep.equal({ errors: [{ field: 'displayName', code: 'tooLong', max: 50 }] });
    expect(validateRequest({ ...valid, displayName: '   ' }, [])).to.deep.equal({ errors: [{ field: 'displayName', code: 'required' }] });
  });

  it('refuses no roles and unknown role ids, naming them', () => {
    expect(validateRequest({ ...valid, roleIds: [] }, [])).to.deep.equal({ errors: [{ field: 'roles', code: 'required' }] });
    expect(validateRequest({ ...valid, roleIds: [HELPDESK, 'not-a-role'] }, [])).to.deep.equal({ errors: [{ field: 'roles', code: 'unknown', roleIds: ['not-a-role'] }] });
  });

  it('keeps the duration between 1 day and 2 years', () => {
    expect(validateRequest({ ...valid, duration: '0' }, [])).to.deep.equal({ errors: [{ field: 'duration', code: 'outOfRange', min: 1, max: 730 }] });
    expect(validateRequest({ ...valid, duration: '1' }, [])).to.have.property('request');
    expect(validateRequest({ ...valid, duration: 'P730D' }, [])).to.have.property('request');
    expect(validateRequest({ ...valid, duration: 'P731D' }, [])).to.deep.equal({ errors: [{ field: 'duration', code: 'outOfRange', min: 1, max: 730 }] });
    expect(validateRequest({ ...valid, duration: 'two years' }, [])).to.deep.equal({ errors: [{ field: 'duration', code: 'syntax' }] });
    expect(parseDurationDays('PT0S')).to.equal(0);
    expect(parseDurationDays('P1Y')).to.equal(undefined);
  });

  it('refuses auto-extension with Global Administrator, and any other auto-extension than 180 days', () => {
    expect(validateRequest({ ...valid, roleIds: [READER, GLOBAL_ADMINISTRATOR], autoExtendDuration: 'P180D' }, [])).to.deep.equal({ errors: [{ field: 'autoExtendDuration', code: 'withGlobalAdministrator' }] });
    expect(validateRequest({ ...valid, roleIds: [GLOBAL_ADMINISTRATOR] }, [])).to.have.property('request');
    expect(validateRequest({ ...valid, autoExtendDuration: 'P90D' }, [])).to.deep.equal({ errors: [{ field: 'autoExtendDuration', code: 'invalid' }] });
  });

  it('has a plain message for every problem in English and German, with its values filled in', () => {
    const problems: RequestError[] = [
      ...(['required', 'invalid', 'taken'] as const).map((code) => ({ field: 'displayName' as const, code })),
      { field: 'displayName', code: 'tooLong', max: 50 },
      { field: 'roles', code: 'required' },
      { field: 'roles', code: 'unknown', roleIds: ['nope', 'nix'] },
      { field: 'duration', code: 'syntax' },
      { field: 'duration', code: 'outOfRange', min: 1, max: 730 },
      { field: 'autoExtendDuration', code: 'invalid' },
      { field: 'autoExtendDuration', code: 'withGlobalAdministrator' },
    ];
    const refusals: RelationshipError[] = ['expired', 'answered', 'ended', 'notSent', 'notActive', 'rolesFixed', 'autoExtendWithGlobalAdministrator', 'noGlobalAdministrator', 'onlyRole', 'unknownRole', 'legacy'];
    for (const language of ['en', 'de'] as const) {
      const t = catalogues[language].relationships;
      for (const { field, code, ...values } of problems) {
        const template = (t.error[field] as Record<string, string>)[code];
        const text = fill(template ?? '', Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v])));
        expect(text, `${language} ${field}.${code}`).to.match(/\w/).and.not.to.match(/\{\w+\}/);
      }
      for (const code of refusals) expect(t.refusal[code], `${language} ${code}`).to.match(/\w/);
    }
    expect(fill(catalogues.de.relationships.error.duration.outOfRange, { min: 1, max: 730 })).to.equal('Die Dauer muss zwischen 1 und 730 Tagen (2 Jahre) liegen.');
  });

  it('reports every problem at once', () => {
    const result = validateRequest({ displayName: '', roleIds: [], duration: '999', autoExtendDuration: 'yes' }, []);
    expect(result).to.have.property('errors').with.length(4);
  });
});

describe('relationship life cycle', () => {
  it('goes from created to approval pending to active, ending activation + duration later', () => {
    const created = newRelationship({ id: 'r', displayName: 'n', partnerTenantId: 'p', customer: { tenantId: 'c', displayName: 'C' }, roleIds: [HELPDESK], duration: 'P60D', autoExtendDuration: 'PT0S' }, at('2026-01-31T12:00:00Z'));
    expect(created.status).to.equal('created');
    expect(error(approve(created, at('2026-01-31T12:00:00Z'))), 'not sent yet').to.equal('notSent');
    const pending = ok(lockForApproval(created, at('2026-01-31T12:00:00Z')));
    expect(pending.status).to.equal('approvalPending');
    const active = ok(approve(pending, at('2026-01-31T12:30:00Z')));
    expect(active).to.deep.include({ status: 'active', activatedDateTime: '2026-01-31T12:30:00.000Z', endDateTime: '2026-04-01T12:30:00.000Z', lastModifiedDateTime: '2026-01-31T12:30:00.000Z' });
  });

  it('counts the duration in days across month ends and leap days', () => {
    expect(activeFrom('2028-02-29T10:00:00Z', { duration: 'P1D' }).endDateTime, 'leap day + 1').to.equal('2028-03-01T10:00:00.000Z');
    expect(activeFrom('2028-02-28T23:30:00Z', { duration: 'P1D' }).endDateTime, 'over a leap day').to.equal('2028-02-29T23:30:00.000Z');
    expect(activeFrom('2028-02-29T10:00:00Z', { duration: 'P730D' }).endDateTime, 'two years from a leap day').to.equal('2030-02-28T10:00:00.000Z');
    expect(activeFrom('2027-03-01T00:00:00Z', { duration: 'P730D' }).endDateTime, '730 days over 29 February 2028').to.equal('2029-02-28T00:00:00.000Z');
    expect(activeFrom('2026-01-31T09:00:00Z', { duration: 'P30D' })).to.deep.include({ endDateTime: '2026-03-02T09:00:00.000Z', status: 'expiring' });
    expect(activeFrom('2026-12-31T23:59:00Z', { duration: 'P7D' }).endDateTime).to.equal('2027-01-07T23:59:00.000Z');
  });

  it('is expiring for the last 30 days and expired from its end', () => {
    const active = activeFrom('2026-01-01T09:00:00Z', { duration: 'P90D' });
    expect(active.endDateTime).to.equal('2026-04-01T09:00:00.000Z');
    expect(relationshipAt(active, at('2026-03-02T08:59:59Z')).status).to.equal('active');
    expect(relationshipAt(active, at('2026-03-02T09:00:00Z')).status, '30 days before the end').to.equal('expiring');
    expect(relationshipAt(active, at('2026-04-01T08:59:59Z')).status).to.equal('expiring');
    expect(relationshipAt(active, at('2026-04-01T09:00:00Z'))).to.deep.include({ status: 'expired', endDateTime: '2026-04-01T09:00:00.000Z' });
    expect(mayAct('addUser', [activeFrom('2026-01-01T09:00:00Z', { duration: 'P90D', roles: [USER_ADMINISTRATOR] })], at('2026-03-20T00:00:00Z')).allowed, 'expiring still in force').to.equal(true);
    expect(mayAct('addUser', [activeFrom('2026-01-01T09:00:00Z', { duration: 'P90D', roles: [USER_ADMINISTRATOR] })], at('2026-04-01T09:00:00Z')).allowed, 'expired').to.equal(false);
  });

  it('moves the end by 180 days instead of expiring when it extends itself, and is never shown expiring', () => {
    const active = activeFrom('2026-01-01T09:00:00Z', { duration: 'P90D', autoExtend: 'P180D' });
    expect(relationshipAt(active, at('2026-03-20T00:00:00Z')).status, 'inside the last 30 days').to.equal('active');
    expect(relationshipAt(active, at('2026-04-01T09:00:00Z'))).to.deep.include({ status: 'active', endDateTime: '2026-09-28T09:00:00.000Z' });
    expect(relationshipAt(active, at('2027-01-01T00:00:00Z')).endDateTime, 'twice').to.equal('2027-03-27T09:00:00.000Z');
    // Turning it off afterwards keeps the end reached so far; it then expires there.
    const off = ok(setAutoExtend(active, 'PT0S', at('2026-05-01T00:00:00Z')));
    expect(off).to.deep.include({ autoExtendDuration: 'PT0S', endDateTime: '2026-09-28T09:00:00.000Z', status: 'active' });
    expect(relationshipAt(off, at('2026-09-28T09:00:00Z')).status).to.equal('expired');
  });

  it('expires an unanswered request after the offer days, and then refuses the answer', () => {
    const pending = requested({ created: '2026-02-28T10:00:00Z' });
    expect(relationshipAt(pending, at('2026-05-29T09:59:59Z')).status).to.equal('approvalPending');
    expect(relationshipAt(pending, at('2026-05-29T10:00:00Z'))).to.deep.include({ status: 'expired', endDateTime: '2026-05-29T10:00:00.000Z' });
    expect(error(approve(pending, at('2026-05-29T10:00:00Z')))).to.equal('expired');
    expect(error(decline(pending, at('2026-06-01T00:00:00Z')))).to.equal('expired');
    expect(relationshipAt(pending, at('2026-03-10T10:00:00Z'), 7).status, 'OFFER_DAYS from configuration').to.equal('expired');
  });

  it('takes one answer only: a second approval or a decline after it is refused', () => {
    const pending = requested();
    const active = ok(approve(pending, at('2026-01-11T00:00:00Z')));
    expect(error(approve(active, at('2026-01-11T00:00:01Z')))).to.equal('answered');
    expect(error(decline(active, at('2026-01-11T00:00:01Z')))).to.equal('answered');
    const declined = ok(decline(pending, at('2026-01-11T00:00:00Z')));
    expect(declined).to.deep.include({ status: 'terminated', terminatedBy: 'customer', endDateTime: '2026-01-11T00:00:00.000Z' });
    expect(declined.activatedDateTime).to.equal(undefined);
    expect(error(approve(declined, at('2026-01-12T00:00:00Z')))).to.equal('answered');
  });

  it('is terminated by either side; the customer cannot end a request, the partner can withdraw it', () => {
    const pending = requested();
    expect(error(terminate(pending, 'customer', at('2026-01-11T00:00:00Z')))).to.equal('notActive');
    const withdrawn = ok(terminate(pending, 'partner', at('2026-01-11T00:00:00Z')));
    expect(withdrawn).to.deep.include({ status: 'terminated', terminatedBy: 'partner' });
    expect(error(approve(withdrawn, at('2026-01-12T00:00:00Z')))).to.equal('ended');
    const active = activeFrom('2026-01-10T08:00:00Z');
    for (const side of ['partner', 'customer'] as const) {
      const ended = ok(terminate(active, side, at('2026-02-01T00:00:00Z')));
      expect(ended).to.deep.include({ status: 'terminated', terminatedBy: side, endDateTime: '2026-02-01T00:00:00.000Z' });
      expect(error(terminate(ended, side, at('2026-02-02T00:00:00Z')))).to.equal('ended');
    }
    expect(error(terminate(active, 'customer', at('2028-01-10T08:00:00Z'))), 'expired').to.equal('ended');
  });

  it('changes no roles of an active relationship except removing Global Administrator', () => {
    const active = activeFrom('2026-01-10T08:00:00Z', { roles: [HELPDESK, GLOBAL_ADMINISTRATOR], duration: 'P7D' });
    const now = at('2026-01-11T00:00:00Z');
    expect(error(changeRoles(active, [HELPDESK, READER, GLOBAL_ADMINISTRATOR], now))).to.equal('rolesFixed');
    expect(error(changeRoles(active, [READER], now))).to.equal('rolesFixed');
    expect(error(setAutoExtend(active, 'P180D', now)), 'not with Global Administrator').to.equal('autoExtendWithGlobalAdministrator');
    const reduced = ok(changeRoles(active, [HELPDESK], now));
    expect(reduced.accessDetails.unifiedRoles).to.deep.equal([{ roleDefinitionId: HELPDESK }]);
    expect(reduced.endDateTime, 'the end stays').to.equal(active.endDateTime);
    expect(error(removeGlobalAdministrator(reduced, now))).to.equal('noGlobalAdministrator');
    expect(ok(setAutoExtend(reduced, 'P180D', now)).autoExtendDuration, 'possible once it is gone').to.equal('P180D');
    expect(error(removeGlobalAdministrator(activeFrom('2026-01-10T08:00:00Z', { roles: [GLOBAL_ADMINISTRATOR] }), now))).to.equal('onlyRole');
    expect(error(changeRoles(requested(), [READER], now)), 'sent already: a new request instead').to.equal('notActive');
  });

  it('shows the old delegated admin as one active Global Administrator relationship with no end date', () => {
    const legacy = legacyRelationship('partner', { tenantId: 'customer', displayName: 'Contoso' }, '2020-05-01T00:00:00.000Z');
    const later = at('2040-01-01T00:00:00Z');
    expect(relationshipAt(legacy, later)).to.deep.include({ status: 'active', activatedDateTime: '2020-05-01T00:00:00.000Z', legacy: true });
    expect(legacy.endDateTime).to.equal(undefined);
    expect(legacy.accessDetails.unifiedRoles).to.deep.equal([{ roleDefinitionId: GLOBAL_ADMINISTRATOR }]);
    expect(mayAct('addUser', [legacy], later).allowed).to.equal(true);
    expect(getsReminders(legacy, later)).to.equal(false);
    expect(error(setAutoExtend(legacy, 'PT0S', later))).to.equal('legacy');
    expect(error(removeGlobalAdministrator(legacy, later))).to.equal('legacy');
    expect(ok(terminate(legacy, 'customer', later)).status).to.equal('terminated');
  });
});

describe('what the roles allow', () => {
  const now = at('2026-02-01T00:00:00Z');
  it('lets a User Administrator or Global Administrator in force add a user, and otherwise names User Administrator as missing', () => {
    expect(mayAct('addUser', [activeFrom('2026-01-10T08:00:00Z', { roles: [USER_ADMINISTRATOR] })], now)).to.have.property('allowed', true);
    expect(mayAct('addUser', [activeFrom('2026-01-10T08:00:00Z', { roles: [GLOBAL_ADMINISTRATOR] })], now)).to.have.property('allowed', true);
    expect(mayAct('addUser', [activeFrom('2026-01-10T08:00:00Z', { roles: [HELPDESK, READER] })], now)).to.deep.equal({ allowed: false, missingRoleId: USER_ADMINISTRATOR });
    expect(mayAct('addUser', [requested({ roles: [USER_ADMINISTRATOR] })], now), 'still pending').to.deep.equal({ allowed: false, missingRoleId: USER_ADMINISTRATOR });
    expect(mayAct('addUser', [], now)).to.have.property('allowed', false);
  });

  it('finds the one relationship that allows it among several', () => {
    const onboarding = { ...activeFrom('2026-01-30T00:00:00Z', { roles: [GLOBAL_ADMINISTRATOR], duration: 'P7D' }), id: 'onboarding' };
    const longTerm = activeFrom('2026-01-10T08:00:00Z', { roles: [HELPDESK] });
    const result = mayAct('addUser', [longTerm, onboarding], now);
    expect(result.allowed && result.relationship.id).to.equal('onboarding');
    expect(mayAct('addUser', [longTerm, onboarding], at('2026-02-06T00:00:00Z')).allowed, 'after the onboarding one ran out').to.equal(false);
  });
});

describe('relationship end reminders', () => {
  const END = '2026-03-01';
  const none = new Set<RelationshipReminderKind>();
  const handled = (...kinds: RelationshipReminderKind[]) => new Set(kinds);

  it('falls due 30, 7 and 1 day before the end, each once', () => {
    expect(dueRelationshipReminder(END, '2026-01-29', none)).to.equal(undefined);
    expect(dueRelationshipReminder(END, '2026-01-30', none), 'over February').to.deep.equal({ send: 'before30', skip: [] });
    expect(dueRelationshipReminder(END, '2026-01-31', handled('before30'))).to.equal(undefined);
    expect(dueRelationshipReminder(END, '2026-02-22', handled('before30'))).to.deep.equal({ send: 'before7', skip: [] });
    expect(dueRelationshipReminder(END, '2026-02-28', handled('before30', 'before7'))).to.deep.equal({ send: 'before1', skip: [] });
    expect(dueRelationshipReminder(END, '2026-02-28', handled('before30', 'before7', 'before1'))).to.equal(undefined);
    expect(dueRelationshipReminder('2028-03-01', '2028-02-29', handled('before30', 'before7')), 'leap day').to.deep.equal({ send: 'before1', skip: [] });
  });

  it('sends only the most urgent after downtime, nothing older than one already sent, and nothing from the end day', () => {
    expect(dueRelationshipReminder(END, '2026-02-27', none)).to.deep.equal({ send: 'before7', skip: ['before30'] });
    expect(dueRelationshipReminder(END, '2026-02-28', none)).to.deep.equal({ send: 'before1', skip: ['before30', 'before7'] });
    expect(dueRelationshipReminder(END, '2026-02-28', handled('before1'))).to.equal(undefined);
    expect(dueRelationshipReminder(END, '2026-02-25', handled('before7')), 'a later one handled').to.equal(undefined);
    expect(dueRelationshipReminder(END, END, none)).to.equal(undefined);
  });

  it('is for relationships in force without auto-extension', () => {
    const now = at('2026-02-01T00:00:00Z');
    expect(getsReminders(activeFrom('2026-01-10T08:00:00Z'), now)).to.equal(true);
    expect(getsReminders(activeFrom('2026-01-10T08:00:00Z', { autoExtend: 'P180D' }), now)).to.equal(false);
    expect(getsReminders(requested(), now)).to.equal(false);
  });
});
