/**
 * The behaviour every implementation of the repositories (src/store/repositories.ts) must show: one
 * set of cases, run against PostgreSQL (test/postgres/repositories.contract.test.ts) and the file
 * store (test/fileRepositories.contract.test.ts). Cases that race go through both `instances`: two
 * pools on one database for PostgreSQL (two instances of the bot), the same store twice for the
 * files, which is one instance by design. What a store cannot do by design is a capability it
 * declares: the cases that need it are listed as pending with the reason, never left out silently.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { auditDraft, type AuditDraft, type AuditEntry } from '../../src/domain/audit.js';
import type { Customer, Subscription } from '../../src/domain/customer.js';
import * as rules from '../../src/domain/delegation.js';
import type { Offer } from '../../src/domain/delegation.js';
import { GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR } from '../../src/domain/entraRoles.js';
import type { Relationship } from '../../src/domain/relationship.js';
import type { PartnerProfile } from '../../src/domain/profile.js';
import { assignRole, rolesAfterProfileSaved, rolesAfterUpgrade, type RoleBook } from '../../src/domain/roles.js';
import type { Setup, SetupKey } from '../../src/domain/setup.js';
import type { CatalogKey, CommerceRelationship, CommerceTenant, Member, ReminderRecord, Repositories } from '../../src/store/repositories.js';
import type { RunnerLock } from '../../src/store/repositories.js';
import { pino } from 'pino';
import { DEFAULT_LIFECYCLE, REMINDER_KINDS, addDays } from '../../src/domain/lifecycle.js';
import type { ConversationRef, Delivery } from '../../src/domain/conversation.js';
import { DeliveryQueue } from '../../src/reminders/deliveryQueue.js';
import { ReminderService } from '../../src/reminders/reminderService.js';
import type { AuditTrail } from '../../src/partners/auditTrail.js';
import { withTurnReads } from '../../src/store/turnReads.js';

export interface ContractStore {
  /** Two handles on one store; for PostgreSQL, two pools (as two instances would have). */
  instances: [Repositories, Repositories];
  /** The ids of a partner's audit entries in the trail, oldest first: what changes recorded with them. */
  auditIds(partnerTenantId: string): Promise<string[]>;
  /** Makes the partner's stored data look as written before roles existed: no role book at all. */
  predateRoles(partnerTenantId: string): Promise<void>;
  /** The partner's audit trail as stored, oldest first. */
  trail(partnerTenantId: string): Promise<AuditEntry[]>;
  close(): Promise<void>;
}

export interface Capabilities {
  /**
   * Several instances (processes) may share the store: each sees the others' changes at once. False
   * for the file store, which belongs to one process (DATA_DIR is locked by it); its `instances` are
   * then one store twice, and its races are between concurrent calls of that process.
   */
  severalInstances: boolean;
}

const conversation = (id: string) => ({ serviceUrl: 'https://smba.example/emea/', channelId: 'msteams', conversation: { id }, bot: { id: '28:bot' }, user: { id: `29:${id}` } });

const AT = '2026-03-01T10:00:00.000Z';
let counter = 0;
const unique = (prefix: string) => `${prefix}-${++counter}-${randomUUID().slice(0, 8)}`;
const hex64 = () => (randomUUID() + randomUUID()).replace(/-/g, '');

function profile(partnerId = '1234567', timeZone = 'Europe/Berlin'): PartnerProfile {
  return { organisationName: 'Contoso Partners', partnerId, cloudEssentials: true, timeZone, updatedAt: AT, updatedBy: 'user-1' };
}

function subscription(overrides: Partial<Subscription> = {}): Subscription {
  return { id: unique('sub'), product: 'Office 365 E3', seats: 10, assignedSeats: 1, startDate: '2025-05-01', endDate: '2026-05-01', partnerOfRecord: '1234567', billing: 'partner', renewalIds: [], ...overrides };
}

function offer(overrides: Partial<Offer> = {}): Offer {
  return { id: randomUUID(), status: 'pending', message: 'Let us help', sentAt: AT, sentBy: { id: 'user-1', name: 'Ada' }, expiresAt: '2026-05-30T10:00:00.000Z', delivery: 'waiting', ...overrides };
}

function relationship(partnerTenantId: string, customerTenantId: string, overrides: Partial<Relationship> = {}): Relationship {
  return {
    id: randomUUID(),
    displayName: unique('Helpdesk').slice(0, 50),
    partnerTenantId,
    customer: { tenantId: customerTenantId, displayName: 'Fabrikam' },
    accessDetails: { unifiedRoles: [{ roleDefinitionId: USER_ADMINISTRATOR }, { roleDefinitionId: GLOBAL_ADMINISTRATOR }] },
    duration: 'P730D',
    autoExtendDuration: 'PT0S',
    status: 'approvalPending',
    createdDateTime: AT,
    lastModifiedDateTime: AT,
    ...overrides,
  };
}

/** A request for a relationship, as the service saves it. */
function request(partnerTenantId: string, customerTenantId: string, overrides: Partial<Relationship> = {}): Offer {
  return offer({ relationship: relationship(partnerTenantId, customerTenantId, overrides), partnerConversation: conversation('a:partner') });
}

/** An audit entry a change records (who does not matter to the store). */
function entry(partnerTenantId: string, id: string, verb = 'contract', customerTenantId?: string): AuditDraft {
  return auditDraft({ id, at: new Date(AT), partnerTenantId, actor: { name: 'Ada', objectId: 'user-1', role: 'admin' }, verb, customerTenantId, outcome: { result: 'done' } });
}

function customer(overrides: Partial<Customer> = {}): Customer {
  return {
    tenantId: randomUUID(),
    name: 'Fabrikam',
    domain: 'fabrikam.onmicrosoft.com',
    country: 'DE',
    language: 'de',
    admin: { name: 'Bea Admin', email: 'bea@fabrikam.example', phone: '+49 30 1234', userPrincipalName: 'bea@fabrikam.onmicrosoft.com', objectId: randomUUID() },
    createdAt: AT,
    createdBy: { id: 'user-1', name: 'Ada' },
    setupId: randomUUID(),
    subscriptions: [subscription()],
    offers: [],
    addedUsers: [],
    ...overrides,
  };
}

function key(overrides: Partial<SetupKey> = {}): SetupKey {
  return { id: randomUUID(), ref: hex64(), handle: hex64(), lastGroup: 'AB12C', product: 'Office 365 E3', seats: 5, termMonths: 12, ...overrides };
}

function setup(overrides: Partial<Setup> = {}): Setup {
  return { id: randomUUID(), ownerId: 'user-1', ownerName: 'Ada', createdAt: AT, updatedAt: AT, rev: 0, status: 'entering', keys: [], ...overrides };
}

function catalogKey(overrides: Partial<CatalogKey> = {}): CatalogKey {
  return { ref: hex64(), product: 'Office 365 E3', seats: 10, termMonths: 12, lastGroup: 'QW3RT', status: 'available', issuedAt: AT, ...overrides };
}

function tenant(keyHandles: string[], overrides: Partial<CommerceTenant> = {}): CommerceTenant {
  const name = unique('fabrikam');
  return {
    tenantId: randomUUID(),
    idempotencyKey: randomUUID(),
    partnerTenantId: 'partner-1',
    createdAt: AT,
    organisationName: 'Fabrikam',
    country: 'DE',
    language: 'de',
    domain: `${name}.onmicrosoft.com`,
    users: [{ objectId: randomUUID(), userPrincipalName: `bea@${name}.onmicrosoft.com`, displayName: 'Bea Admin', email: 'bea@example.com', phone: '+49 1', roles: ['Global Administrator'], licenses: ['Office 365 E3'] }],
    subscriptions: [{ id: randomUUID(), product: 'Office 365 E3', seats: 10, assignedSeats: 1, startDate: '2026-03-01', endDate: '2027-03-01', partnerOfRecord: '1234567', billing: 'partner', renewals: [] }],
    keyHandles,
    delegatedAdmins: [],
    addedUsers: {},
    relationships: [],
    ...overrides,
  };
}

export function repositoryContract(name: string, capabilities: Capabilities, open: (context: Mocha.Context) => Promise<ContractStore>): void {
  describe(`repository contract: ${name}`, function () {
    let store: ContractStore;
    let a: Repositories;
    let b: Repositories;
    before(async function () {
      store = await open(this);
      [a, b] = store.instances;
    });
    after(() => store?.close());

    describe('partners', () => {
      it('keeps a profile, and none for a tenant that never saved one', async () => {
        const tenant = unique('partner');
        expect(await a.partners.profile(tenant)).to.equal(undefined);
        await a.partners.saveProfile(tenant, profile('7654321', 'Pacific/Auckland'));
        expect(await b.partners.profile(tenant)).to.deep.equal(profile('7654321', 'Pacific/Auckland'));
        expect(await b.partners.timeZones()).to.include('Pacific/Auckland');
      });

      it("keeps staff members' chats per tenant, unreachable until they write again", async () => {
        const tenant = unique('partner');
        const member: Member = { name: 'Ada', locale: 'de-DE', conversation: conversation('a:1'), updatedAt: AT, reachable: true };
        await a.partners.rememberMember(tenant, 'user-1', member);
        await a.partners.markMemberUnreachable(tenant, 'user-1');
        expect(await b.partners.staff(tenant)).to.deep.equal({ 'user-1': { ...member, reachable: false } });
        expect(await b.partners.staff(unique('other'))).to.deep.equal({});
        await b.partners.rememberMember(tenant, 'user-1', { ...member, name: 'Ada L.' });
        expect((await a.partners.staff(tenant))['user-1']).to.deep.equal({ ...member, name: 'Ada L.', reachable: true });
      });

      it('keeps the reminder channel, recorded with its change', async () => {
        const tenant = unique('partner');
        expect(await a.partners.reminderChannel(tenant)).to.equal(undefined);
        const channel = { conversation: conversation('19:channel'), setBy: 'user-1', setAt: AT, reachable: true };
        await a.partners.setReminderChannel(tenant, channel, (set) => [entry(tenant, `reminders.channel:${set.conversation.conversation.id}`)]);
        await b.partners.markReminderChannelUnreachable(tenant);
        expect(await a.partners.reminderChannel(tenant)).to.deep.equal({ ...channel, reachable: false });
        expect(await store.auditIds(tenant)).to.deep.equal(['reminders.channel:19:channel']);
      });

      it("keeps a staff member's time zone and last welcome; a chat saved again keeps the welcome", async () => {
        const tenant = unique('partner');
        const member: Member = { name: 'Ada', locale: 'de-DE', timeZone: 'Europe/Berlin', conversation: conversation('a:1'), updatedAt: AT, reachable: true };
        const welcome = { conversationId: 'a:1', activityId: 'act-1', language: 'de', at: AT };
        await a.partners.rememberWelcome(tenant, 'user-1', welcome);
        expect(await b.partners.member(tenant, 'user-1'), 'no welcome for a member the bot does not know').to.equal(undefined);
        await a.partners.rememberMember(tenant, 'user-1', member);
        await b.partners.rememberWelcome(tenant, 'user-1', welcome);
        expect(await a.partners.member(tenant, 'user-1')).to.deep.equal({ ...member, welcome });
        const { locale: _locale, ...withoutLocale } = member;
        await a.partners.rememberMember(tenant, 'user-1', { ...withoutLocale, timeZone: 'Pacific/Auckland' });
        expect(await b.partners.member(tenant, 'user-1')).to.deep.equal({ ...withoutLocale, timeZone: 'Pacific/Auckland', welcome });
        const withoutActivity = { conversationId: 'a:2', language: 'en', at: '2026-03-02T10:00:00.000Z' };
        await b.partners.rememberMember(tenant, 'user-1', { ...member, welcome: withoutActivity });
        expect((await a.partners.staff(tenant))['user-1']).to.deep.equal({ ...member, welcome: withoutActivity });
        expect(await a.partners.member(tenant, 'user-2')).to.equal(undefined);
      });
    });

    describe('partners: roles', () => {
      const ada = { userId: 'user-ada', name: 'Ada' };
      const bo = { userId: 'user-bo', name: 'Bo' };
      const fromProfile = (by: { userId: string; name: string }) => (book: Readonly<RoleBook>) => {
        const { book: next, change } = rolesAfterProfileSaved(book, by, new Date(AT));
        return { book: next, changes: change ? [change] : [] };
      };
      const recordChanges = (tenant: string) => ({ changes }: { changes: Array<{ userId: string; reason: string }> }) => changes.map((change) => entry(tenant, `role.${change.reason}:${change.userId}`));

      it('starts a new partner with an empty book; the first to save the profile becomes Admin agent, recorded with the save', async () => {
        const tenant = unique('partner');
        expect(await a.partners.roles(tenant)).to.deep.equal({});
        await a.partners.saveProfile(tenant, profile(), fromProfile(ada), (update) => [entry(tenant, 'profile.save:1'), ...recordChanges(tenant)(update)]);
        expect(await b.partners.roles(tenant)).to.deep.equal({ [ada.userId]: { role: 'admin', name: 'Ada', reason: 'firstProfile', assignedAt: AT } });
        await b.partners.saveProfile(tenant, { ...profile(), updatedBy: bo.userId }, fromProfile(bo), (update) => [entry(tenant, 'profile.save:2'), ...recordChanges(tenant)(update)]);
        expect(Object.keys((await a.partners.roles(tenant))!)).to.deep.equal([ada.userId]);
        expect(await store.auditIds(tenant)).to.deep.equal(['profile.save:1', `role.firstProfile:${ada.userId}`, 'profile.save:2']);
        expect((await a.partners.profile(tenant))?.updatedBy).to.equal(bo.userId);
      });

      it('changes the book with the names of the staff met, records a change, and writes nothing when the change gives no book', async () => {
        const tenant = unique('partner');
        await a.partners.rememberMember(tenant, bo.userId, { name: 'Bo', conversation: conversation('b:1'), updatedAt: AT, reachable: true });
        await a.partners.saveProfile(tenant, profile(), fromProfile(ada));
        const give = (repos: Repositories, role: 'sales' | undefined, by = ada) =>
          repos.partners.updateRoles(
            tenant,
            (book, staff) => {
              const result = assignRole(book, by, bo.userId, role, staff, new Date(AT));
              return 'refused' in result ? { result: result.refused } : { book: result.book, result: result.change ? 'changed' : 'same' };
            },
            (result) => [entry(tenant, `role.assign:${result}:${role}`)],
          );
        expect(await give(b, 'sales')).to.equal('changed');
        expect((await a.partners.roles(tenant))![bo.userId]).to.deep.equal({ role: 'sales', name: 'Bo', reason: 'assigned', assignedBy: ada.userId, assignedAt: AT });
        expect(await give(a, 'sales', bo), 'refused: Bo is no Admin agent').to.equal('notAdmin');
        expect(await give(a, undefined)).to.equal('changed');
        expect((await b.partners.roles(tenant))![bo.userId]).to.equal(undefined);
        expect(await store.auditIds(tenant)).to.deep.equal(['role.assign:changed:sales', 'role.assign:changed:undefined']);
      });

      it('keeps an Admin agent when two remove each other on two instances at once', async () => {
        const tenant = unique('partner');
        for (const person of [ada, bo]) await a.partners.rememberMember(tenant, person.userId, { name: person.name, conversation: conversation(person.userId), updatedAt: AT, reachable: true });
        await a.partners.saveProfile(tenant, profile(), fromProfile(ada));
        await a.partners.updateRoles(tenant, (book, staff) => {
          const result = assignRole(book, ada, bo.userId, 'admin', staff, new Date(AT));
          return 'refused' in result ? { result: false } : { book: result.book, result: true };
        });
        const remove = (repos: Repositories, by: typeof ada, target: typeof ada) =>
          repos.partners.updateRoles(
            tenant,
            (book, staff) => {
              const result = assignRole(book, by, target.userId, undefined, staff, new Date(AT));
              return 'refused' in result ? { result: result.refused } : { book: result.book, result: `removed ${target.name}` };
            },
            (result) => [entry(tenant, result)],
          );
        const outcomes = await Promise.all([remove(a, ada, bo), remove(b, bo, ada)]);
        expect(outcomes.filter((outcome) => outcome.startsWith('removed'))).to.have.length(1);
        expect(outcomes.filter((outcome) => outcome === 'notAdmin')).to.have.length(1);
        const admins = Object.values((await a.partners.roles(tenant))!).filter((assignment) => assignment.role === 'admin');
        expect(admins).to.have.length(1);
        expect(await store.auditIds(tenant)).to.deep.equal(outcomes.filter((outcome) => outcome.startsWith('removed')));
      });

      it('upgrades a partner that predates roles once, whichever instances ask at once: everyone who could act becomes Admin agent', async () => {
        const tenant = unique('partner');
        await a.partners.rememberMember(tenant, bo.userId, { name: 'Bo', conversation: conversation('b:1'), updatedAt: AT, reachable: true });
        await a.partners.saveProfile(tenant, { ...profile(), updatedBy: ada.userId });
        await a.customers.add(tenant, customer({ createdBy: { id: 'user-cy', name: 'Cy' } }));
        await store.predateRoles(tenant);
        expect(await b.partners.roles(tenant)).to.equal(undefined);
        const asked: string[][] = [];
        const upgrade = (repos: Repositories) =>
          repos.partners.upgradeRoles(
            tenant,
            (people) => {
              asked.push(people.map((person) => `${person.userId}:${person.name}`));
              return rolesAfterUpgrade(undefined, people, new Date(AT));
            },
            recordChanges(tenant),
          );
        const books = await Promise.all([upgrade(a), upgrade(b)]);
        expect(books[0]).to.deep.equal(books[1]);
        expect(asked[0]).to.deep.equal(['user-bo:Bo', 'user-ada:user-ada', 'user-cy:Cy']);
        expect(Object.fromEntries(Object.entries(books[0]).map(([userId, assignment]) => [userId, `${assignment.role}/${assignment.reason}`]))).to.deep.equal({
          'user-bo': 'admin/upgrade',
          'user-ada': 'admin/upgrade',
          'user-cy': 'admin/upgrade',
        });
        expect(await a.partners.roles(tenant)).to.deep.equal(books[0]);
        expect(await store.auditIds(tenant)).to.deep.equal(['role.upgrade:user-bo', 'role.upgrade:user-ada', 'role.upgrade:user-cy']);
        // A partner with a book keeps it: asking again changes and records nothing.
        expect(await upgrade(b)).to.deep.equal(books[0]);
        expect(await store.auditIds(tenant)).to.have.length(3);
      });
    });

    describe('customers', () => {
      it('gives back a customer as added, to its own partner only, and adds a retried creation once', async () => {
        const partner = unique('partner');
        const full = customer({
          offers: [offer({ status: 'declined', answeredAt: AT, answeredBy: { id: 'admin', name: 'Bea' }, partnerNotice: 'sent', partnerConversation: conversation('a:partner') })],
          adminContact: { conversation: conversation('a:admin'), reachable: true, updatedAt: AT },
          addedUsers: [{ requestId: randomUUID(), userPrincipalName: 'cy@fabrikam.onmicrosoft.com', product: 'Office 365 E3', addedAt: AT }],
          subscriptions: [subscription({ renewalIds: ['r-1'], scheduledSwitch: { on: '2026-04-30', by: { id: 'user-1', name: 'Ada' } } }), subscription({ product: 'Visio', partnerOfRecord: undefined, billing: 'direct' })],
        });
        delete full.subscriptions[1]!.partnerOfRecord;
        await a.customers.add(partner, full);
        await b.customers.add(partner, { ...full, name: 'changed by a retry' });
        expect(await b.customers.get(partner, full.tenantId)).to.deep.equal(full);
        expect(await a.customers.get(unique('other'), full.tenantId)).to.equal(undefined);
        expect(await a.customers.link(full.tenantId)).to.deep.equal({ partnerTenantId: partner, customer: full });
        expect(await a.customers.link(randomUUID())).to.equal(undefined);
      });

      it("lists a partner's customers by name, filtered by name or domain ignoring case", async () => {
        const partner = unique('partner');
        expect(await a.customers.hasCustomers(partner)).to.equal(false);
        for (const name of ['northwind', 'Contoso', 'Fabrikam']) await a.customers.add(partner, customer({ name, domain: `${name.toLowerCase()}.onmicrosoft.com` }));
        await a.customers.add(unique('other'), customer({ name: 'Adatum' }));
        expect((await b.customers.list(partner)).map((c) => c.name)).to.deep.equal(['Contoso', 'Fabrikam', 'northwind']);
        expect((await b.customers.list(partner, ' NORTH')).map((c) => c.name)).to.deep.equal(['northwind']);
        expect((await b.customers.list(partner, 'fabrikam.onmicrosoft')).map((c) => c.name)).to.deep.equal(['Fabrikam']);
        expect(await b.customers.hasCustomers(partner)).to.equal(true);
      });

      it('lists names alphabetically as a person reads them, accented letters among the plain ones, and finds any letter whatever its case', async () => {
        const partner = unique('partner');
        for (const name of ['Zahnarztpraxis Berg', 'ÄRZTEHAUS Mitte', 'Bäckerei Öz', 'apfel & co', 'Arztpraxis Süd', 'Östlich GmbH', 'Apfel & Co']) {
          await a.customers.add(partner, customer({ name, domain: `${unique('d').toLowerCase()}.onmicrosoft.com` }));
        }
        const listed = ['apfel & co', 'Apfel & Co', 'ÄRZTEHAUS Mitte', 'Arztpraxis Süd', 'Bäckerei Öz', 'Östlich GmbH', 'Zahnarztpraxis Berg'];
        expect((await b.customers.list(partner)).map((c) => c.name)).to.deep.equal(listed);
        expect((await b.customers.page(partner, '', 2, 3)).shown.map((c) => c.name)).to.deep.equal(listed.slice(3, 6));
        expect((await b.customers.list(partner, 'ärztehaus')).map((c) => c.name)).to.deep.equal(['ÄRZTEHAUS Mitte']);
        expect((await b.customers.list(partner, 'ÖZ')).map((c) => c.name)).to.deep.equal(['Bäckerei Öz']);
        expect((await b.customers.page(partner, 'SÜD', 1, 3)).shown.map((c) => c.name)).to.deep.equal(['Arztpraxis Süd']);
        // Accents still count: "Arzte" is not "Ärzte".
        expect(await b.customers.list(partner, 'arztehaus')).to.deep.equal([]);
      });

      it('gives a page of the list: the same customers in the same order, how many match, the last page for one past it', async () => {
        const partner = unique('partner');
        expect(await b.customers.page(partner, '', 1, 3)).to.deep.equal({ page: 1, start: 0, shown: [], hasNext: false, total: 0 });
        // Names that sort differently by case, and two customers of the same name (then by tenant id).
        for (const name of ['delta', 'Alpha', 'charlie', 'Bravo', 'echo', 'alpha', 'Foxtrot']) await a.customers.add(partner, customer({ name, domain: `${name.toLowerCase()}.onmicrosoft.com` }));
        const all = await b.customers.list(partner);
        const pages = [1, 2, 3].map((page) => b.customers.page(partner, '', page, 3));
        expect(await Promise.all(pages)).to.deep.equal([
          { page: 1, start: 0, shown: all.slice(0, 3), hasNext: true, total: 7 },
          { page: 2, start: 3, shown: all.slice(3, 6), hasNext: true, total: 7 },
          { page: 3, start: 6, shown: all.slice(6), hasNext: false, total: 7 },
        ]);
        expect(await a.customers.page(partner, '', 99, 3), 'past the last page').to.deep.equal(await b.customers.page(partner, '', 3, 3));
        expect(await a.customers.page(partner, ' ALPHA', 1, 3)).to.deep.equal({ page: 1, start: 0, shown: all.filter((c) => c.name.toLowerCase() === 'alpha'), hasNext: false, total: 2 });
        // A page is the caller's own copy: changing it changes nothing stored.
        const { shown } = await a.customers.page(partner, '', 1, 3);
        shown[0]!.name = 'changed by the caller';
        shown[0]!.subscriptions.pop();
        expect(await b.customers.list(partner)).to.deep.equal(all);
        // The same page asked for again after a change shows the change, in the new order.
        expect((await b.customers.page(partner, '', 1, 3)).shown).to.deep.equal(all.slice(0, 3));
        await a.customers.update(partner, all[0]!.tenantId, (c) => ({ ...c, name: 'Zulu' }));
        await a.customers.update(partner, all[4]!.tenantId, (c) => ({ ...c, subscriptions: [] }));
        const changed = await b.customers.list(partner);
        expect(changed.map((c) => c.name)).to.deep.equal([...all.slice(1).map((c) => c.name), 'Zulu']);
        expect(await b.customers.page(partner, '', 1, 3)).to.deep.equal({ page: 1, start: 0, shown: changed.slice(0, 3), hasNext: true, total: 7 });
        expect((await b.customers.page(partner, '', 2, 3)).shown[0]!.subscriptions, 'a change that keeps the order').to.deep.equal([]);
        });

      it('gives one page of that list and how many it holds, a page past the end as the last page', async () => {
        const partner = unique('partner');
        const page = (filter: string, at: number, size: number) => b.customers.page(partner, filter, at, size);
        expect(await page('', 3, 10)).to.deep.equal({ page: 1, start: 0, shown: [], hasNext: false, total: 0 });
        for (const name of ['northwind', 'Contoso', 'Fabrikam', 'Adatum', 'Litware']) await a.customers.add(partner, customer({ name, domain: `${name.toLowerCase()}.onmicrosoft.com` }));
        await a.customers.add(unique('other'), customer({ name: 'Alpine' }));
        const all = await b.customers.list(partner);
        expect(await page('', 1, 2)).to.deep.equal({ page: 1, start: 0, shown: all.slice(0, 2), hasNext: true, total: 5 });
        const names = async (filter: string, at: number, size: number) => {
          const { shown, ...rest } = await page(filter, at, size);
          return { ...rest, names: shown.map((c) => c.name) };
        };
        expect(await names('', 3, 2)).to.deep.equal({ page: 3, start: 4, names: ['northwind'], hasNext: false, total: 5 });
        expect(await names('', 9, 2), 'past the end').to.deep.equal({ page: 3, start: 4, names: ['northwind'], hasNext: false, total: 5 });
        expect(await names(' A ', 2, 2), 'filtered').to.deep.equal({ page: 2, start: 2, names: ['Litware'], hasNext: false, total: 3 });
        expect(await names('A', 1, 2), 'filtered').to.deep.equal({ page: 1, start: 0, names: ['Adatum', 'Fabrikam'], hasNext: true, total: 3 });
        expect(await names('nothing like it', 2, 2)).to.deep.equal({ page: 1, start: 0, names: [], hasNext: false, total: 0 });
      });

      it('changes one subscription and finds renewals under way and switches due on the partner\'s own day', async () => {
        const partner = unique('partner');
        await a.partners.saveProfile(partner, profile('1234567', 'Pacific/Auckland'));
        const c = customer();
        await a.customers.add(partner, c);
        const subscriptionId = c.subscriptions[0]!.id;
        const changed = await b.customers.updateSubscription(partner, c.tenantId, subscriptionId, (s) => ({ ...s, pendingRenewal: { requestId: 'req-1', keyHandle: 'h-1' }, scheduledSwitch: { on: '2026-03-02', by: { id: 'user-1', name: 'Ada' } } }));
        expect(changed?.subscription.pendingRenewal).to.deep.equal({ requestId: 'req-1', keyHandle: 'h-1' });
        expect(await a.customers.updateSubscription(partner, c.tenantId, 'no-such-subscription', (s) => s)).to.equal(undefined);
        expect(await a.customers.updateSubscription(unique('other'), c.tenantId, subscriptionId, (s) => s)).to.equal(undefined);
        const mine = (refs: Array<{ subscription: Subscription }>) => refs.filter((ref) => ref.subscription.id === subscriptionId);
        expect(mine(await a.customers.pendingRenewals())).to.have.length(1);
        // 1 March, 20:00 UTC is already 2 March in Auckland.
        expect(mine(await a.customers.switchesDue(new Date('2026-03-01T10:00:00Z')))).to.have.length(0);
        expect(mine(await a.customers.switchesDue(new Date('2026-03-01T20:00:00Z')))).to.deep.equal([{ partnerTenantId: partner, customerTenantId: c.tenantId, subscription: changed!.subscription }]);
      });

      it('loses no change when both instances change one customer at once', async () => {
        const partner = unique('partner');
        const c = customer();
        await a.customers.add(partner, c);
        const users = Array.from({ length: 20 }, () => ({ requestId: randomUUID(), userPrincipalName: `${unique('u')}@fabrikam.onmicrosoft.com`, product: 'Office 365 E3', addedAt: AT }));
        await Promise.all(
          users.map((user, i) =>
            [a, b][i % 2]!.customers.update(partner, c.tenantId, (current) => {
              current.addedUsers.push(user);
              if (i < 5) current.subscriptions[0]!.assignedSeats += 1;
              return current;
            }),
          ),
        );
        const after = await a.customers.get(partner, c.tenantId);
        expect(after?.addedUsers.map((u) => u.requestId).sort()).to.deep.equal(users.map((u) => u.requestId).sort());
        expect(after?.subscriptions[0]!.assignedSeats).to.equal(1 + 5);
      });
    });

    describe('customers and renewals', () => {
      /** An entry of the change keyed by `id`, as a service records it. */
      const entry = (partner: string, id: string, customerTenantId: string): AuditDraft =>
        auditDraft({ id, at: new Date(AT), partnerTenantId: partner, actor: { name: 'Ada', objectId: 'user-1', role: 'admin' }, verb: id.split(':')[0]!, customerTenantId, outcome: { result: 'done' } });

      it("keeps the admin's last password reset and a reset under way, and renewals in the order applied", async () => {
        const partner = unique('partner');
        const c = customer({ subscriptions: [subscription({ renewalIds: ['r-9', 'r-1', 'r-5'] })] });
        c.admin.passwordReset = { at: AT, by: { id: 'user-2', name: 'Bo' } };
        await a.customers.add(partner, c);
        expect(await b.customers.get(partner, c.tenantId)).to.deep.equal(c);
        const pending = { at: '2026-03-02T08:00:00.000Z', by: { id: 'user-1', name: 'Ada' }, requestId: randomUUID() };
        await b.customers.update(partner, c.tenantId, (current) => ({ ...current, admin: { ...current.admin, pendingPasswordReset: pending } }));
        expect((await a.customers.get(partner, c.tenantId))?.admin).to.deep.equal({ ...c.admin, pendingPasswordReset: pending });
        const { pendingPasswordReset: _done, ...admin } = (await a.customers.get(partner, c.tenantId))!.admin;
        await a.customers.update(partner, c.tenantId, (current) => ({ ...current, admin: { ...admin, passwordReset: pending } }));
        await a.customers.updateSubscription(partner, c.tenantId, c.subscriptions[0]!.id, (s) => ({ ...s, renewalIds: [...s.renewalIds, 'r-0'] }));
        const after = await b.customers.get(partner, c.tenantId);
        expect(after?.admin).to.deep.equal({ ...c.admin, passwordReset: pending });
        expect(after?.subscriptions[0]!.renewalIds).to.deep.equal(['r-9', 'r-1', 'r-5', 'r-0']);
      });

      it('writes the entries of a change with it, and none for a retried creation or a change that changes nothing', async () => {
        const partner = unique('partner');
        const c = customer();
        const subscriptionId = c.subscriptions[0]!.id;
        await a.customers.add(partner, c, (added) => [entry(partner, `account.create:${added.setupId}`, added.tenantId)]);
        await b.customers.add(partner, c, (added) => [entry(partner, `account.create:again-${added.setupId}`, added.tenantId)]);
        // The same setup recorded with another tenant id (a backend that answered a retry anew): still one customer.
        expect(await a.customers.add(partner, { ...c, tenantId: randomUUID() }, () => [entry(partner, 'account.create:other-tenant', c.tenantId)])).to.deep.equal(c);
        expect((await b.customers.list(partner)).map((x) => x.tenantId)).to.deep.equal([c.tenantId]);
        expect(await b.customers.update(partner, c.tenantId, () => undefined, () => [entry(partner, 'nothing:1', c.tenantId)])).to.equal(undefined);
        expect(await a.customers.updateSubscription(partner, c.tenantId, subscriptionId, () => undefined, () => [entry(partner, 'nothing:2', c.tenantId)])).to.equal(undefined);
        const scheduled = await b.customers.updateSubscription(
          partner,
          c.tenantId,
          subscriptionId,
          (s) => ({ ...s, scheduledSwitch: { on: '2026-04-30', by: { id: 'user-1', name: 'Ada' } } }),
          ({ customer: changed, subscription }) => [entry(partner, `billing.schedule:${subscription.scheduledSwitch!.on}`, changed.tenantId)],
        );
        expect(scheduled?.subscription.scheduledSwitch?.on).to.equal('2026-04-30');
        await a.customers.update(partner, c.tenantId, (current) => ({ ...current, name: 'Fabrikam GmbH' }), (changed) => [entry(partner, `customer.rename:${changed.name}`, changed.tenantId)]);
        expect(await store.auditIds(partner)).to.deep.equal([`account.create:${c.setupId}`, 'billing.schedule:2026-04-30', 'customer.rename:Fabrikam GmbH']);
        expect((await a.customers.get(partner, c.tenantId))?.name).to.equal('Fabrikam GmbH');
      });

      it('renews and switches a subscription once when both instances apply the same change at once', async () => {
        const partner = unique('partner');
        const c = customer();
        const subscriptionId = c.subscriptions[0]!.id;
        await a.customers.add(partner, c);
        // What mirroring the backend's answer does: conditional on the renewal (setup) id, recorded with it.
        const renew = (repos: Repositories) =>
          repos.customers.update(
            partner,
            c.tenantId,
            (current) => {
              const s = current.subscriptions[0]!;
              if (s.renewalIds.includes('setup-1')) return undefined;
              current.subscriptions[0] = { ...s, endDate: `${Number(s.endDate.slice(0, 4)) + 1}${s.endDate.slice(4)}`, seats: s.seats + 10, renewalIds: [...s.renewalIds, 'setup-1'] };
              return current;
            },
            (changed) => [entry(partner, 'keys.apply:setup-1', changed.tenantId)],
          );
        const renewed = await Promise.all(Array.from({ length: 8 }, (_, i) => renew([a, b][i % 2]!)));
        expect(renewed.filter(Boolean)).to.have.length(1);
        const toDirect = (repos: Repositories) =>
          repos.customers.updateSubscription(
            partner,
            c.tenantId,
            subscriptionId,
            (s) => (s.billing === 'partner' ? { ...s, billing: 'direct' as const, startDate: '2026-03-01', endDate: '2027-03-01' } : undefined),
            ({ subscription }) => [entry(partner, `billing.switch:${subscription.id}`, c.tenantId)],
          );
        const switched = await Promise.all(Array.from({ length: 8 }, (_, i) => toDirect([a, b][i % 2]!)));
        expect(switched.filter(Boolean)).to.have.length(1);
        const after = (await b.customers.get(partner, c.tenantId))!.subscriptions[0]!;
        expect(after).to.deep.include({ seats: 20, renewalIds: ['setup-1'], billing: 'direct', endDate: '2027-03-01' });
        expect(await store.auditIds(partner)).to.deep.equal(['keys.apply:setup-1', `billing.switch:${subscriptionId}`]);
      });

      it('keeps the subscriptions keys add and a renewal to fewer seats than are assigned (the partner was warned)', async () => {
        const partner = unique('partner');
        const c = customer();
        await a.customers.add(partner, c);
        const started = subscription({ product: 'Visio Plan 2', seats: 5, assignedSeats: 0, renewalIds: ['setup-2'] });
        await b.customers.update(partner, c.tenantId, (current) => {
          current.subscriptions[0] = { ...current.subscriptions[0]!, seats: 15, renewalIds: ['setup-2'] };
          current.subscriptions.push(started);
          return current;
        });
        const fewer = await a.customers.updateSubscription(partner, c.tenantId, c.subscriptions[0]!.id, (s) => ({ ...s, seats: 2, assignedSeats: 8, renewalIds: [...s.renewalIds, 'setup-3'] }));
        expect(fewer?.subscription).to.deep.include({ seats: 2, assignedSeats: 8 });
        expect((await b.customers.get(partner, c.tenantId))?.subscriptions).to.deep.equal([{ ...c.subscriptions[0]!, seats: 2, assignedSeats: 8, renewalIds: ['setup-2', 'setup-3'] }, started]);
      });

      it('lets one of two presses of the same "Reset admin password" at once claim the reset', async () => {
        const partner = unique('partner');
        const c = customer();
        await a.customers.add(partner, c);
        const requestId = randomUUID();
        const claim = (repos: Repositories, by: string) =>
          repos.customers.update(partner, c.tenantId, (current) =>
            current.admin.pendingPasswordReset?.requestId === requestId || current.admin.passwordReset?.requestId === requestId
              ? undefined
              : { ...current, admin: { ...current.admin, pendingPasswordReset: { at: AT, by: { id: by, name: by }, requestId } } },
          );
        const claims = await Promise.all(Array.from({ length: 6 }, (_, i) => claim([a, b][i % 2]!, `press-${i}`)));
        expect(claims.filter(Boolean)).to.have.length(1);
        expect((await b.customers.get(partner, c.tenantId))?.admin.pendingPasswordReset?.requestId).to.equal(requestId);
      });
    });

    describe('delegation', () => {
      /** A partner with one customer; `trail` lists the entries of the partner's trail by verb and id. */
      async function partnerWithCustomer(overrides: Partial<Customer> = {}) {
        const partner = unique('partner');
        const c = customer(overrides);
        await a.customers.add(partner, c);
        const trail = async () => (await store.trail(partner)).map((e) => `${e.verb}:${e.id}`);
        return { partner, c, trail };
      }

      it('keeps a request with its relationship, end reminders and chats as saved, and records it with its entry once', async () => {
        const { partner, c, trail } = await partnerWithCustomer();
        const saved = request(partner, c.tenantId, { status: 'active', activatedDateTime: AT, endDateTime: '2028-02-29T10:00:00.000Z', terminatedBy: 'customer' });
        const full = { ...saved, status: 'accepted' as const, answeredAt: AT, answeredBy: { id: 'admin', name: 'Bea' }, delivery: 'delivered' as const, customerCard: { conversation: conversation('a:admin'), activityId: 'act-1' }, reminders: ['before30' as const, 'before7' as const], reminderDue: 'before7' as const, partnerNotice: 'pending' as const };
        const added = await a.customers.addOffer(partner, c.tenantId, full, (o) => [entry(partner, `request:${o.id}`, 'delegation.request', c.tenantId)]);
        expect(added).to.deep.equal({ added: true, offer: full });
        expect((await b.customers.get(partner, c.tenantId))?.offers).to.deep.equal([full]);
        expect((await b.customers.link(c.tenantId))?.customer.offers).to.deep.equal([full]);
        // A second press of the same card: the offer there, nothing recorded again.
        expect(await b.customers.addOffer(partner, c.tenantId, { ...full, message: 'again' }, (o) => [entry(partner, `again:${o.id}`, 'delegation.request')])).to.deep.equal({ added: false, existing: full });
        expect(await trail()).to.deep.equal([`delegation.request:request:${full.id}`]);
        // A customer added with its offers (an import) keeps them whole as well.
        const copy = customer();
        copy.offers = [request(partner, copy.tenantId), offer({ status: 'accepted' })];
        await a.customers.add(partner, copy);
        expect((await b.customers.get(partner, copy.tenantId))?.offers).to.deep.equal(copy.offers);
        await expectRejection(a.customers.addOffer(partner, randomUUID(), request(partner, c.tenantId)));
      });

      it('lets a customer hold several relationships; one per relationship, a display name once per partner, and one open offer of the old kind', async () => {
        const { partner, c } = await partnerWithCustomer();
        const other = customer();
        await a.customers.add(partner, other);
        const onboarding = request(partner, c.tenantId, { displayName: 'Fabrikam onboarding', accessDetails: { unifiedRoles: [{ roleDefinitionId: GLOBAL_ADMINISTRATOR }] }, duration: 'P7D' });
        const helpdesk = request(partner, c.tenantId, { displayName: 'Fabrikam helpdesk' });
        for (const o of [onboarding, helpdesk]) expect((await a.customers.addOffer(partner, c.tenantId, o)).added).to.equal(true);
        // The same relationship under another request, or its name in another case (with any customer): the one there.
        expect(await b.customers.addOffer(partner, c.tenantId, { ...request(partner, c.tenantId), relationship: helpdesk.relationship })).to.deep.equal({ added: false, existing: helpdesk });
        expect(await b.customers.addOffer(partner, other.tenantId, request(partner, other.tenantId, { displayName: 'FABRIKAM Onboarding' }))).to.deep.equal({ added: false, existing: onboarding });
        // Any letter's case, not only A to Z's.
        const support = request(partner, c.tenantId, { displayName: 'Fabrikam Übergabe' });
        expect((await a.customers.addOffer(partner, c.tenantId, support)).added).to.equal(true);
        expect(await b.customers.addOffer(partner, other.tenantId, request(partner, other.tenantId, { displayName: 'FABRIKAM übergabe' }))).to.deep.equal({ added: false, existing: support });
        // Another partner names its relationships as it likes.
        const elsewhere = await partnerWithCustomer();
        expect((await b.customers.addOffer(elsewhere.partner, elsewhere.c.tenantId, request(elsewhere.partner, elsewhere.c.tenantId, { displayName: 'Fabrikam onboarding' }))).added).to.equal(true);
        // Ended or not, a name stays taken; an offer of the old kind stays one open per customer.
        await a.customers.updateOffer(partner, c.tenantId, onboarding.id, (o) => rules.withdraw(o, o.sentBy, new Date(AT)));
        expect((await a.customers.addOffer(partner, c.tenantId, request(partner, c.tenantId, { displayName: 'fabrikam onboarding' }))).added).to.equal(false);
        const legacy = offer({ status: 'accepted' });
        expect((await a.customers.addOffer(partner, c.tenantId, legacy)).added).to.equal(true);
        expect(await b.customers.addOffer(partner, c.tenantId, offer())).to.deep.equal({ added: false, existing: legacy });
        expect((await b.customers.addOffer(partner, other.tenantId, offer())).added).to.equal(true);
        expect((await a.customers.get(partner, c.tenantId))?.offers.map((o) => o.relationship?.displayName ?? o.status)).to.deep.equal(['Fabrikam onboarding', 'Fabrikam helpdesk', 'Fabrikam Übergabe', 'accepted']);
      });

      it('takes one of two requests racing for one display name, from either instance', async () => {
        const { partner, c } = await partnerWithCustomer();
        const other = customer();
        await a.customers.add(partner, other);
        const racing = await Promise.all([
          a.customers.addOffer(partner, c.tenantId, request(partner, c.tenantId, { displayName: 'Fabrikam security' })),
          b.customers.addOffer(partner, other.tenantId, request(partner, other.tenantId, { displayName: 'Fabrikam Security' })),
        ]);
        expect(racing.filter((result) => result.added)).to.have.length(1);
        const winner = racing.find((result) => result.added)!;
        expect(racing.find((result) => !result.added)).to.deep.equal({ added: false, existing: winner.added && winner.offer });
      });

      it('applies two instances answering and ending one offer at once one after the other: one wins, its entry alone is recorded', async () => {
        const { partner, c, trail } = await partnerWithCustomer();
        const pending = request(partner, c.tenantId);
        await a.customers.addOffer(partner, c.tenantId, pending);
        const now = new Date('2026-03-02T10:00:00.000Z');
        const onlyIfPending = (next: (o: Offer) => Offer) => (o: Offer) => (o.status === 'pending' ? next(o) : undefined);
        const recorded = (verb: string) => (change: { before: Offer; offer: Offer }) => (change.before.status === 'pending' && change.offer.status !== 'pending' ? [entry(partner, `${verb}:${change.offer.id}`, verb, c.tenantId)] : []);
        const [answered, withdrawn] = await Promise.all([
          a.customers.updateOffer(partner, c.tenantId, pending.id, onlyIfPending((o) => rules.answer(o, true, { id: 'admin', name: 'Bea' }, now)), recorded('offer.accept')),
          b.customers.updateOffer(partner, c.tenantId, pending.id, onlyIfPending((o) => rules.withdraw(o, o.sentBy, now)), recorded('delegation.end')),
        ]);
        const outcomes = [answered!, withdrawn!];
        const winner = outcomes.find((o) => o.offer !== o.before)!;
        const loser = outcomes.find((o) => o.offer === o.before)!;
        expect(winner, 'one of them changed the offer').to.not.equal(undefined);
        expect(loser, 'the other found it changed and left it').to.not.equal(undefined);
        expect(winner.before.status).to.equal('pending');
        expect(loser.before).to.deep.equal(winner.offer);
        expect(loser.customer.offers).to.deep.equal([winner.offer]);
        expect((await a.customers.get(partner, c.tenantId))?.offers).to.deep.equal([winner.offer]);
        expect(await trail()).to.deep.equal([winner.offer.status === 'accepted' ? `offer.accept:offer.accept:${pending.id}` : `delegation.end:delegation.end:${pending.id}`]);
      });

      it('loses no change when both instances change different parts of one offer at once', async () => {
        const { partner, c } = await partnerWithCustomer();
        const accepted = { ...request(partner, c.tenantId, { status: 'active', activatedDateTime: AT, endDateTime: '2026-04-01T10:00:00.000Z' }), status: 'accepted' as const, partnerNotice: 'pending' as const };
        await a.customers.addOffer(partner, c.tenantId, accepted);
        await Promise.all([
          a.customers.updateOffer(partner, c.tenantId, accepted.id, (o) => ({ ...o, partnerNotice: 'sent' })),
          b.customers.updateOffer(partner, c.tenantId, accepted.id, (o) => ({ ...o, reminders: ['before30'], reminderDue: 'before30' })),
          a.customers.updateOffer(partner, c.tenantId, accepted.id, (o) => ({ ...o, delivery: 'delivered' })),
        ]);
        expect((await b.customers.get(partner, c.tenantId))?.offers[0]).to.deep.include({ partnerNotice: 'sent', reminders: ['before30'], reminderDue: 'before30', delivery: 'delivered' });
        expect(await a.customers.updateOffer(partner, c.tenantId, randomUUID(), (o) => o)).to.equal(undefined);
        expect(await a.customers.updateOffer(partner, c.tenantId, 'not-a-uuid', (o) => o)).to.equal(undefined);
        expect(await a.customers.updateOffer(unique('other'), c.tenantId, accepted.id, (o) => o)).to.equal(undefined);
      });

      it('finds the customers with offer work: open requests, notices to send, end reminders not all handled', async () => {
        const mine = async (tenantId: string) => (await b.customers.withOfferWork()).filter((link) => link.customer.tenantId === tenantId).map((link) => link.partnerTenantId);
        const cases: Array<[string, (partner: string, tenantId: string) => Offer, boolean]> = [
          ['a pending request', (p, t) => request(p, t), true],
          ['a notice to send', (p, t) => ({ ...request(p, t, { status: 'terminated', terminatedBy: 'customer' }), status: 'declined', partnerNotice: 'pending' }), true],
          ['end reminders to handle', (p, t) => ({ ...request(p, t, { status: 'active' }), status: 'accepted', reminders: ['before30'] }), true],
          ['the last reminder recorded, not yet sent', (p, t) => ({ ...request(p, t, { status: 'active' }), status: 'accepted', reminders: ['before30', 'before7', 'before1'], reminderDue: 'before1' }), true],
          ['all reminders handled', (p, t) => ({ ...request(p, t, { status: 'active' }), status: 'accepted', reminders: ['before30', 'before7', 'before1'] }), false],
          ['one that extends itself', (p, t) => ({ ...request(p, t, { status: 'active', autoExtendDuration: 'P180D', accessDetails: { unifiedRoles: [{ roleDefinitionId: USER_ADMINISTRATOR }] } }), status: 'accepted' }), false],
          ['an ended one, told', (p, t) => ({ ...request(p, t, { status: 'terminated' }), status: 'ended', partnerNotice: 'sent' }), false],
          ['the old kind, accepted', () => offer({ status: 'accepted' }), false],
        ];
        for (const [what, make, work] of cases) {
          const { partner, c } = await partnerWithCustomer();
          await a.customers.addOffer(partner, c.tenantId, make(partner, c.tenantId));
          expect(await mine(c.tenantId), what).to.deep.equal(work ? [partner] : []);
        }
      });

      it("records a change of a customer (the admin's chat saved) with its entry, in the same write", async () => {
        const { partner, c, trail } = await partnerWithCustomer();
        const contact = { conversation: conversation('a:admin'), reachable: true, updatedAt: AT };
        const changed = await b.customers.update(partner, c.tenantId, (current) => ({ ...current, adminContact: contact }), (saved) => [entry(partner, `admin:${saved.tenantId}`, 'admin.recognise', saved.tenantId)]);
        expect(changed?.adminContact).to.deep.equal(contact);
        expect(await trail()).to.deep.equal([`admin.recognise:admin:${c.tenantId}`]);
        // Nothing changed, nothing recorded.
        expect(await a.customers.update(partner, c.tenantId, () => undefined, () => [entry(partner, 'nothing', 'admin.recognise')])).to.equal(undefined);
        expect(await trail()).to.have.length(1);
      });
    });

    describe('setups and key reservations', () => {
      it('gives back a setup as saved, to its own tenant only, and saves a double press once', async () => {
        const tenant = unique('partner');
        const saved = setup({
          status: 'reserved',
          rev: 3,
          keys: [key(), key({ lastGroup: 'ZZ999', seats: 1 })],
          reservedUntil: '2026-03-15T10:00:00.000Z',
          account: { country: 'DE', organisationName: 'Fabrikam', firstName: 'Bea', lastName: 'Admin', email: 'bea@example.com', phone: '+49 1', domainPrefix: 'fabrikam', signInName: 'bea', language: 'de', partnerOfRecord: true },
        });
        expect(await a.setups.insert(tenant, saved)).to.equal(true);
        expect(await b.setups.insert(tenant, { ...saved, ownerName: 'second press' })).to.equal(false);
        expect(await b.setups.find(tenant, saved.id)).to.deep.equal(saved);
        expect(await b.setups.find(unique('other'), saved.id)).to.equal(undefined);
        expect(await b.setups.find(tenant, 'not-a-uuid')).to.equal(undefined);
        expect(await b.setups.update(unique('other'), saved.id, (s) => s)).to.equal(undefined);
      });

      it('lists open setups newest first and finds the ones background work needs', async () => {
        const tenant = unique('partner');
        const older = setup({ status: 'reserved', updatedAt: '2026-03-01T09:00:00.000Z', reservedUntil: '2026-03-01T09:30:00.000Z' });
        const newer = setup({ status: 'reviewing', updatedAt: '2026-03-01T11:00:00.000Z', keys: [key()] });
        const released = setup({ status: 'released', releaseNotice: 'pending', closedAt: '2026-02-01T00:00:00.000Z' });
        const told = setup({ status: 'released', releaseNotice: 'sent', closedAt: '2026-02-01T00:00:00.000Z' });
        for (const s of [older, newer, released, told]) await a.setups.insert(tenant, s);
        expect((await b.setups.open(tenant)).map((s) => s.id)).to.deep.equal([newer.id, older.id]);
        const ids = (refs: Array<{ setup: Setup }>) => refs.map((ref) => ref.setup.id);
        expect(ids(await b.setups.reservationsDue(new Date('2026-03-01T10:00:00Z')))).to.include(older.id).and.not.include(newer.id);
        expect(ids(await b.setups.reservationsDue(new Date('2026-03-01T09:00:00Z')))).to.not.include(older.id);
        expect(ids(await b.setups.pendingReleaseNotices())).to.include(released.id).and.not.include(told.id);
        expect(ids(await b.setups.withStatus('reviewing'))).to.include(newer.id);
        await b.setups.dropClosedBefore(new Date('2026-02-15T00:00:00Z'));
        expect(await a.setups.find(tenant, told.id)).to.equal(undefined);
        expect(await a.setups.find(tenant, released.id)).to.not.equal(undefined);
      });

      it('applies concurrent changes of one setup one after the other: no lost update', async () => {
        const tenant = unique('partner');
        const s = setup();
        await a.setups.insert(tenant, s);
        const keys = Array.from({ length: 10 }, () => key());
        await Promise.all(keys.map((k, i) => [a, b][i % 2]!.setups.update(tenant, s.id, (current) => ({ ...current, rev: current.rev + 1, status: 'reviewing', keys: [...current.keys, k] }))));
        const after = await a.setups.find(tenant, s.id);
        expect(after?.rev).to.equal(10);
        expect(after?.keys.map((k) => k.id).sort()).to.deep.equal(keys.map((k) => k.id).sort());
      });

      it('lets exactly one of 50 setups racing for one key reserve it', async () => {
        const tenant = unique('partner');
        const ref = hex64();
        const racers = Array.from({ length: 50 }, () => setup({ status: 'reserving' }));
        for (const s of racers) await a.setups.insert(tenant, s);
        const won = await Promise.all(racers.map((s, i) => [a, b][i % 2]!.setups.reserveKey(ref, tenant, s.id, new Date(AT))));
        expect(won.filter(Boolean)).to.have.length(1);
        const winner = racers[won.indexOf(true)]!;
        expect(await b.setups.keyHolder(ref)).to.deep.equal({ tenantId: tenant, setupId: winner.id, ownerName: 'Ada' });
        expect(await b.setups.reserveKey(ref, tenant, winner.id, new Date(AT))).to.equal(true);
        // A holder that let go of its keys (discarded) no longer holds it: the next setup may take it.
        await a.setups.update(tenant, winner.id, (s) => ({ ...s, status: 'discarded' }));
        expect(await b.setups.keyHolder(ref)).to.equal(undefined);
        const next = racers.find((s) => s !== winner)!;
        expect(await b.setups.reserveKey(ref, tenant, next.id, new Date(AT))).to.equal(true);
        expect(await a.setups.reserveKey(ref, unique('other'), winner.id, new Date(AT))).to.equal(false);
        await a.setups.releaseKeys(next.id);
        expect(await a.setups.keyHolder(ref)).to.equal(undefined);
      });

      it('drops reservations whose setup no longer holds keys', async () => {
        const tenant = unique('partner');
        const s = setup({ status: 'reserved' });
        await a.setups.insert(tenant, s);
        const ref = hex64();
        await a.setups.reserveKey(ref, tenant, s.id, new Date(AT));
        expect(await a.setups.dropOrphanReservations()).to.equal(0);
        await a.setups.update(tenant, s.id, (current) => ({ ...current, status: 'completed' }));
        expect(await b.setups.dropOrphanReservations()).to.be.at.least(1);
        // A fresh setup can reserve it (the row is gone, not just stale).
        const fresh = setup({ status: 'reserving' });
        await a.setups.insert(tenant, fresh);
        expect(await a.setups.reserveKey(ref, tenant, fresh.id, new Date(AT))).to.equal(true);
      });
    });

    describe('setups', () => {
      const entry = (tenant: string, id: string) => auditDraft({ id, at: new Date(AT), partnerTenantId: tenant, actor: { name: 'Ada', objectId: 'user-1', role: 'sales' }, verb: 'redeem.confirm', keys: ['AB12C'], outcome: { result: 'done' } });

      it('keeps what a setup is for: renewing a subscription or adding keys to an existing customer', async () => {
        const tenant = unique('partner');
        const renew = setup({ target: { kind: 'renew', customerId: randomUUID(), subscriptionId: unique('sub') }, status: 'reviewing', keys: [key()] });
        const add = setup({ target: { kind: 'add', customerId: randomUUID() } });
        for (const s of [renew, add]) await a.setups.insert(tenant, s);
        expect(await b.setups.find(tenant, renew.id)).to.deep.equal(renew);
        expect(await b.setups.find(tenant, add.id)).to.deep.equal(add);
        const completed = await b.setups.update(tenant, renew.id, (s) => ({ ...s, status: 'completed', customerId: renew.target!.customerId, closedAt: AT, rev: s.rev + 1 }));
        expect(await a.setups.find(tenant, renew.id)).to.deep.equal(completed).and.to.deep.include({ target: renew.target });
      });

      it('records a change in the audit trail with the change, and nothing for a change refused or left as it was', async () => {
        const tenant = unique('partner');
        const s = setup({ status: 'reviewing', keys: [key()] });
        await a.setups.insert(tenant, s);
        const confirmed = await b.setups.update(tenant, s.id, (current) => ({ ...current, status: 'reserved', rev: current.rev + 1 }), (done) => [entry(tenant, `redeem.confirm:${done.id}`)]);
        expect(confirmed?.status).to.equal('reserved');
        expect(await store.auditIds(tenant)).to.deep.equal([`redeem.confirm:${s.id}`]);
        // A refusal throws out of the change: nothing is written, nothing recorded.
        const refused = await a.setups
          .update(tenant, s.id, () => { throw new Error('stale'); }, () => [entry(tenant, 'refused')])
          .catch((error: Error) => error.message);
        expect(refused).to.equal('stale');
        // The setup given back unchanged: nothing to write, nothing to record.
        expect(await a.setups.update(tenant, s.id, (current) => current, () => [entry(tenant, 'unchanged')])).to.deep.equal(confirmed);
        expect(await store.auditIds(tenant)).to.deep.equal([`redeem.confirm:${s.id}`]);
        expect(await b.setups.find(tenant, s.id)).to.deep.equal(confirmed);
      });

      it('lets one of two instances pressing the same card apply it: the other finds its revision stale', async () => {
        const tenant = unique('partner');
        const s = setup({ status: 'reviewing', keys: [key()] });
        await a.setups.insert(tenant, s);
        // The service's press: owner and revision re-checked under the row lock, then the change.
        const press = (repos: Repositories, i: number) =>
          repos.setups
            .update(
              tenant,
              s.id,
              (current) => {
                if (current.rev !== s.rev) throw new Error('stale');
                return { ...current, status: 'reserving', rev: current.rev + 1, ownerName: `press ${i}` };
              },
              (done) => [entry(tenant, `press:${done.ownerName}`)],
            )
            .then(
              (done) => done!.ownerName,
              (error: Error) => error.message,
            );
        const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => press([a, b][i % 2]!, i)));
        const winners = outcomes.filter((outcome) => outcome !== 'stale');
        expect(winners).to.have.length(1);
        expect(await a.setups.find(tenant, s.id)).to.deep.include({ rev: 1, status: 'reserving', ownerName: winners[0] });
        expect(await store.auditIds(tenant)).to.deep.equal([`press:${winners[0]}`]);
      });

      it("gives a key to one of two partners' setups racing on two instances, and the loser's release leaves it held", async () => {
        const ref = hex64();
        const racers = [unique('partner'), unique('partner')].map((tenant) => ({ tenant, s: setup({ status: 'reserving' }) }));
        for (const { tenant, s } of racers) await a.setups.insert(tenant, s);
        const won = await Promise.all(racers.map(({ tenant, s }, i) => [a, b][i]!.setups.reserveKey(ref, tenant, s.id, new Date(AT))));
        expect(won.filter(Boolean)).to.have.length(1);
        const winner = racers[won.indexOf(true)]!;
        const loser = racers[won.indexOf(false)]!;
        await b.setups.releaseKeys(loser.s.id, [ref]);
        expect(await a.setups.keyHolder(ref)).to.deep.equal({ tenantId: winner.tenant, setupId: winner.s.id, ownerName: 'Ada' });
        // The winner keeps it while it holds keys, whichever instance the loser asks again.
        expect(await a.setups.reserveKey(ref, loser.tenant, loser.s.id, new Date(AT))).to.equal(false);
        await a.setups.update(winner.tenant, winner.s.id, (s) => ({ ...s, status: 'reserved', rev: s.rev + 1 }));
        expect(await b.setups.reserveKey(ref, loser.tenant, loser.s.id, new Date(AT))).to.equal(false);
      });
    });

    describe('guessing guard', () => {
      const limits = { limit: 10, windowMinutes: 60, lockMinutes: 60 };

      it('counts unknown keys across instances and locks once the limit is passed', async () => {
        const tenant = unique('partner');
        const now = new Date(AT);
        expect(await a.guessGuard.unknownKeysLeft(tenant, now, limits)).to.equal(10);
        const results = await Promise.all(Array.from({ length: 11 }, (_, i) => [a, b][i % 2]!.guessGuard.recordUnknownKeys(tenant, 1, now, limits)));
        const locks = results.filter((result) => result.lockedUntil);
        expect(locks).to.deep.equal([{ lockedUntil: '2026-03-01T11:00:00.000Z' }]);
        expect(await b.guessGuard.lockedUntil(tenant, now)).to.equal('2026-03-01T11:00:00.000Z');
        expect(await b.guessGuard.lockedUntil(tenant, new Date('2026-03-01T11:00:00Z'))).to.equal(undefined);
        expect(await b.guessGuard.lockedUntil(unique('other'), now)).to.equal(undefined);
      });

      it('forgets unknown keys older than the window', async () => {
        const tenant = unique('partner');
        await a.guessGuard.recordUnknownKeys(tenant, 4, new Date('2026-03-01T08:00:00Z'), limits);
        await a.guessGuard.recordUnknownKeys(tenant, 3, new Date('2026-03-01T09:30:00Z'), limits);
        expect(await b.guessGuard.unknownKeysLeft(tenant, new Date('2026-03-01T09:45:00Z'), limits)).to.equal(7);
      });
    });

    describe('within one turn', () => {
      const limits = { limit: 2, windowMinutes: 60, lockMinutes: 60 };

      it("answers a turn's reads after who is asking with what the turn itself wrote meanwhile", async () => {
        const tenant = unique('partner');
        const now = new Date(AT);
        await a.partners.rememberMember(tenant, 'user-1', { name: 'Ada', conversation: conversation('a:1'), updatedAt: AT, reachable: true });
        // As a turn runs: who is asking first, then what the welcome card and a key check read.
        await withTurnReads(async () => {
          expect(await a.partners.member(tenant, 'user-1')).to.include({ name: 'Ada' });
          expect(await a.customers.hasCustomers(tenant)).to.equal(false);
          expect(await a.guessGuard.lockedUntil(tenant, now)).to.equal(undefined);
          expect(await a.guessGuard.unknownKeysLeft(tenant, now, limits)).to.equal(2);
          await a.guessGuard.recordUnknownKeys(tenant, 1, now, limits);
          expect(await a.guessGuard.unknownKeysLeft(tenant, now, limits)).to.equal(1);
          await a.customers.add(tenant, customer());
          expect(await a.customers.hasCustomers(tenant)).to.equal(true);
        });
        await withTurnReads(async () => {
          await a.partners.member(tenant, 'user-1');
          expect(await a.customers.hasCustomers(tenant)).to.equal(true);
          expect(await a.guessGuard.unknownKeysLeft(tenant, now, limits)).to.equal(1);
          expect(await a.guessGuard.recordUnknownKeys(tenant, 2, now, limits)).to.deep.equal({ lockedUntil: '2026-03-01T11:00:00.000Z' });
          expect(await a.guessGuard.lockedUntil(tenant, now)).to.equal('2026-03-01T11:00:00.000Z');
        });
        await withTurnReads(async () => {
          await a.partners.member(tenant, 'user-1');
          expect(await a.guessGuard.lockedUntil(tenant, now)).to.equal('2026-03-01T11:00:00.000Z');
          expect(await a.guessGuard.unknownKeysLeft(tenant, now, limits), 'the lock starts a new count').to.equal(2);
        });
      });
    });

    describe('reminder ledger', () => {
      // before60 of a subscription ending 30 April 2026 is due on 1 March 2026.
      const endDate = '2026-04-30';

      async function remindedCustomer(timeZone: string, overrides: Partial<Subscription> = {}) {
        const partner = unique('partner');
        await a.partners.saveProfile(partner, profile('1234567', timeZone));
        const c = customer({ subscriptions: [subscription({ endDate, ...overrides })] });
        await a.customers.add(partner, c);
        return { partner, c, s: c.subscriptions[0]! };
      }

      const record = (c: Customer, s: Subscription, kind: ReminderRecord['kind'], status: ReminderRecord['status'] = 'queued'): ReminderRecord => ({
        customerTenantId: c.tenantId,
        subscriptionId: s.id,
        endDate: s.endDate,
        kind,
        status,
        createdAt: AT,
        deliveredTo: [],
      });
      const dueFor = async (repos: Repositories, at: string, subscriptionId: string) => (await repos.reminders.dueReminders(new Date(at), 10_000)).filter((due) => due.subscriptionId === subscriptionId);

      it("finds a subscription whose reminder is due on its partner's own day, until it is recorded", async () => {
        const { partner, c, s } = await remindedCustomer('Pacific/Auckland');
        const utc = await remindedCustomer('UTC');
        // 28 February, 20:00 UTC: 1 March in Auckland, still 28 February in UTC.
        const due = await dueFor(b, '2026-02-28T20:00:00Z', s.id);
        expect(due).to.deep.equal([{ partnerTenantId: partner, today: '2026-03-01', customerTenantId: c.tenantId, subscriptionId: s.id, endDate, recorded: [] }]);
        expect(await dueFor(b, '2026-02-28T20:00:00Z', utc.s.id)).to.deep.equal([]);
        expect(await a.reminders.record(partner, [record(c, s, 'before60')])).to.equal(1);
        expect(await dueFor(b, '2026-03-01T20:00:00Z', s.id)).to.deep.equal([]);
        // The next one (30 days before) comes with what is already recorded.
        const later = await dueFor(b, '2026-03-31T12:00:00Z', s.id);
        expect(later.map((d) => [d.today, d.recorded])).to.deep.equal([['2026-04-01', ['before60']]]);
      });

      it("skips subscriptions the partner is not reminded of, and those it switches away by then", async () => {
        const other = await remindedCustomer('UTC', { partnerOfRecord: '9999999' });
        const direct = await remindedCustomer('UTC', { billing: 'direct' });
        const switching = await remindedCustomer('UTC', { scheduledSwitch: { on: '2026-03-01', by: { id: 'user-1', name: 'Ada' } } });
        for (const { s } of [other, direct, switching]) expect(await dueFor(a, '2026-03-01T12:00:00Z', s.id)).to.deep.equal([]);
      });

      it('records each reminder once, whichever instance records it', async () => {
        const { partner, c, s } = await remindedCustomer('UTC');
        const added = await Promise.all([a.reminders.record(partner, [record(c, s, 'before60', 'skipped'), record(c, s, 'before30')]), b.reminders.record(partner, [record(c, s, 'before30')])]);
        expect(added.reduce((sum, n) => sum + n, 0)).to.equal(2);
        const id = { subscriptionId: s.id, endDate, kind: 'before30' as const };
        await Promise.all([a.reminders.markDelivered(partner, id, 'member:user-1'), b.reminders.markDelivered(partner, id, 'member:user-1')]);
        await b.reminders.markDelivered(partner, id, 'channel');
        expect((await a.reminders.queued(10_000)).filter((r) => r.subscriptionId === s.id).map((r) => r.kind)).to.deep.equal(['before30']);
        await a.reminders.markSent(partner, id, new Date('2026-04-01T09:00:00Z'));
        expect(await b.reminders.get(partner, id)).to.deep.equal({ ...record(c, s, 'before30'), partnerTenantId: partner, status: 'sent', sentAt: '2026-04-01T09:00:00.000Z', deliveredTo: ['member:user-1', 'channel'] });
        expect(await b.reminders.get(unique('other'), id)).to.equal(undefined);
        expect((await b.reminders.forPartner(partner)).map((r) => r.kind).sort()).to.deep.equal(['before30', 'before60']);
        await a.reminders.markSkipped(partner, id);
        expect((await a.reminders.get(partner, id))?.status).to.equal('sent');
      });

      it('starts a new cycle when a renewal moves the end date', async () => {
        const { partner, c, s } = await remindedCustomer('UTC');
        await a.reminders.record(partner, [record(c, s, 'before60')]);
        await a.customers.updateSubscription(partner, c.tenantId, s.id, (current) => ({ ...current, endDate: '2026-05-01' }));
        // before60 of 1 May is due on 2 March: not yet recorded for the new end date.
        expect((await dueFor(b, '2026-03-02T12:00:00Z', s.id)).map((d) => d.recorded)).to.deep.equal([[]]);
      });
    });

    describe('reminders', () => {
      // Far from every other case's dates: nothing of theirs is due then. before60 of 30 June 2031 is due on 1 May 2031.
      const endDate = '2031-06-30';
      const AT_RUN = new Date('2031-05-01T10:00:00Z');
      const log = pino({ level: 'silent' });
      // setChannel is the only use of the trail, and no case here chooses a channel through the service.
      const noTrail = undefined as unknown as AuditTrail;
      /** Runs whatever another instance does: a run that outlived its lock (its holder's connection died). */
      const noLock: RunnerLock = { runExclusive: async (_name, work) => ({ ran: true, result: await work() }) };
      type Sent = { conversationId: string; text: string };

      function instance(repos: Repositories, sent: Sent[], options: { lock?: RunnerLock; deliver?: (conversation: ConversationRef, activity: Record<string, unknown>) => Promise<Delivery>; leaseMs?: number } = {}) {
        const deliver =
          options.deliver ??
          (async (conversation: ConversationRef, activity: Record<string, unknown>): Promise<Delivery> => {
            // A send takes a moment, as over the network: the other instance's run gets in between.
            await new Promise((resolve) => setTimeout(resolve, 5));
            sent.push({ conversationId: conversation.conversation.id, text: String(activity.text) });
            return { ok: true, activityId: randomUUID() };
          });
        const queue = new DeliveryQueue(repos.outbox, deliver, { sendsPerSecond: 50, maxAttempts: 3, retryBaseMs: 1, leaseMs: options.leaseMs ?? 60_000 });
        return new ReminderService({ ...repos, runnerLock: options.lock ?? repos.runnerLock }, queue, async (c) => ({ type: 'message', text: `${c.kind} ${c.subscription.id}` }), () => AT_RUN, DEFAULT_LIFECYCLE, log, noTrail);
      }

      /** A partner with `count` customers whose before60 is due at AT_RUN, its owner's chat and a reminder channel. */
      async function remindedPartner(count: number) {
        const partner = unique('partner');
        await a.partners.saveProfile(partner, profile('1234567', 'UTC'));
        const owner = unique('chat');
        const channel = unique('channel');
        await a.partners.rememberMember(partner, 'user-1', { name: 'Ada', conversation: conversation(owner), updatedAt: AT, reachable: true });
        await a.partners.setReminderChannel(partner, { conversation: conversation(channel), setBy: 'user-1', setAt: AT, reachable: true });
        const subscriptions: Subscription[] = [];
        for (let i = 0; i < count; i++) {
          const c = customer({ subscriptions: [subscription({ endDate })] });
          await a.customers.add(partner, c);
          subscriptions.push(c.subscriptions[0]!);
        }
        return { partner, owner, channel, subscriptions };
      }

      const expectOnceEach = async (sent: Sent[], p: Awaited<ReturnType<typeof remindedPartner>>) => {
        const mine = sent.filter((s) => s.conversationId === p.owner || s.conversationId === p.channel).map((s) => `${s.conversationId} ${s.text}`);
        const expected = p.subscriptions.flatMap((s) => [p.owner, p.channel].map((chat) => `${chat} before60 ${s.id}`));
        expect(mine.sort()).to.deep.equal(expected.sort());
        const ledger = await b.reminders.forPartner(p.partner);
        expect(ledger.map((r) => [r.subscriptionId, r.kind, r.status, [...r.deliveredTo].sort()])).to.have.deep.members(p.subscriptions.map((s) => [s.id, 'before60', 'sent', ['channel', 'member:user-1']]));
      };

      it('records and sends each reminder once when a run starts on two instances at once', async () => {
        const p = await remindedPartner(4);
        const sent: Sent[] = [];
        const runs = await Promise.all([instance(a, sent).run(), instance(b, sent).run()]);
        expect(runs.reduce((sum, r) => sum + r.queued, 0), 'recorded once').to.be.at.least(4);
        await expectOnceEach(sent, p);
        // A later run finds nothing left to do.
        const again: Sent[] = [];
        await instance(b, again).run();
        expect(again.filter((s) => s.conversationId === p.owner || s.conversationId === p.channel)).to.deep.equal([]);
      });

      it('sends each reminder once even when two runs overlap without the runner lock: the ledger and the outbox settle it', async () => {
        const p = await remindedPartner(4);
        const sent: Sent[] = [];
        await Promise.all([instance(a, sent, { lock: noLock }).run(), instance(b, sent, { lock: noLock }).run()]);
        await expectOnceEach(sent, p);
      });

      it("takes over the send of an instance that died mid-run, in the same run once its claim runs out, and sends nothing twice", async () => {
        const p = await remindedPartner(1);
        let release!: () => void;
        const dying = new Promise<void>((resolve) => (release = resolve));
        let reached!: () => void;
        const sending = new Promise<void>((resolve) => (reached = resolve));
        // The first instance claims its first message and hangs there (killed), its claim lasting 50 ms.
        const dead = instance(a, [], {
          lock: noLock,
          leaseMs: 50,
          deliver: async () => {
            reached();
            await dying;
            return { ok: false, unreachable: false, status: 503 };
          },
        }).run();
        await sending;
        // The other instance's run starts while the dead one's claim still holds: it waits the claim out.
        const sent: Sent[] = [];
        await instance(b, sent).run();
        release();
        await dead;
        await expectOnceEach(sent, p);
      });

      it('finds the due reminders of the partners in the time zones asked for only', async () => {
        const zoned = async (timeZone: string) => {
          const partner = unique('partner');
          await a.partners.saveProfile(partner, profile('1234567', timeZone));
          const c = customer({ subscriptions: [subscription({ endDate })] });
          await a.customers.add(partner, c);
          return c.subscriptions[0]!.id;
        };
        const [auckland, utc] = [await zoned('Pacific/Auckland'), await zoned('UTC')];
        const ids = async (zones?: ReadonlySet<string>) => (await b.reminders.dueReminders(AT_RUN, 10_000, zones)).map((d) => d.subscriptionId).filter((id) => id === auckland || id === utc);
        expect(await ids(new Set(['UTC']))).to.deep.equal([utc]);
        expect(await ids(new Set(['Pacific/Auckland', 'Europe/Berlin']))).to.deep.equal([auckland]);
        expect((await ids()).sort()).to.deep.equal([auckland, utc].sort());
      });

      it("finds a reminder missed while down through the last day the data is kept, and none the day after", async () => {
        const partner = unique('partner');
        await a.partners.saveProfile(partner, profile('1234567', 'UTC'));
        const c = customer({ subscriptions: [subscription({ endDate })] });
        await a.customers.add(partner, c);
        const s = c.subscriptions[0]!;
        const before = REMINDER_KINDS.filter((kind) => kind !== 'deletionSoon');
        await a.reminders.record(partner, before.map((kind) => ({ customerTenantId: c.tenantId, subscriptionId: s.id, endDate, kind, status: 'sent' as const, createdAt: AT, sentAt: AT, deliveredTo: [] })));
        const dueOn = async (day: string) => (await b.reminders.dueReminders(new Date(`${day}T12:00:00Z`), 10_000)).filter((d) => d.subscriptionId === s.id).map((d) => d.recorded.length);
        expect(await dueOn(addDays(endDate, DEFAULT_LIFECYCLE.deprovisionDays)), 'the last day the data is kept').to.deep.equal([before.length]);
        expect(await dueOn(addDays(endDate, DEFAULT_LIFECYCLE.deprovisionDays + 1)), 'the data is deleted').to.deep.equal([]);
      });

      it('prunes the records of cycles long past that a renewal replaced, and keeps queued ones and the current cycle', async () => {
        const partner = unique('partner');
        const c = customer({ subscriptions: [subscription({ endDate: '2026-04-30' })] });
        await a.customers.add(partner, c);
        const s = c.subscriptions[0]!;
        const rec = (end: string, kind: ReminderRecord['kind'], status: ReminderRecord['status']): ReminderRecord => ({ customerTenantId: c.tenantId, subscriptionId: s.id, endDate: end, kind, status, createdAt: AT, ...(status === 'sent' && { sentAt: AT }), deliveredTo: [] });
        await a.reminders.record(partner, [rec('2026-04-30', 'before60', 'sent'), rec('2026-04-30', 'before30', 'skipped'), rec('2026-04-30', 'before7', 'queued')]);
        await a.customers.updateSubscription(partner, c.tenantId, s.id, (current) => ({ ...current, endDate: '2027-04-30' }));
        await a.reminders.record(partner, [rec('2027-04-30', 'before60', 'sent')]);
        expect(await b.reminders.prune(partner, '2026-04-30'), 'not ended before the day given').to.equal(0);
        expect(await b.reminders.prune(partner, '2026-09-01')).to.equal(2);
        expect((await a.reminders.forPartner(partner)).map((r) => `${r.endDate} ${r.kind}`).sort()).to.deep.equal(['2026-04-30 before7', '2027-04-30 before60']);
        expect(await a.reminders.prune(partner, '2030-01-01'), 'the current cycle is kept').to.equal(0);
      });

      it('claims a message by its key for one worker, tells its state, and prunes finished ones', async () => {
        const tenant = unique('partner');
        const m = { uniqueKey: unique('msg'), tenantId: tenant, conversation: conversation('a:1'), activity: { type: 'message', text: 'Renew Fabrikam' } };
        expect(await a.outbox.state(m.uniqueKey)).to.equal(undefined);
        expect(await a.outbox.claimKey(m.uniqueKey, 'worker-a', 60_000)).to.equal(undefined);
        await a.outbox.enqueue(m);
        expect(await b.outbox.state(m.uniqueKey)).to.deep.equal({ state: 'pending' });
        const [first, second] = await Promise.all([a.outbox.claimKey(m.uniqueKey, 'worker-a', 60_000), b.outbox.claimKey(m.uniqueKey, 'worker-b', 60_000)]);
        const claimed = [first, second].filter((x) => x !== undefined);
        expect(claimed).to.have.length(1);
        expect(claimed[0]).to.deep.include({ ...m, attempts: 1 });
        const worker = first ? 'worker-a' : 'worker-b';
        await a.outbox.retryLater(claimed[0]!.id, worker, 3_600_000, '503');
        // Its sender paces its own retries: a message waiting for its next attempt can be claimed by key.
        const again = await b.outbox.claimKey(m.uniqueKey, 'worker-b', 60_000);
        expect(again?.attempts).to.equal(2);
        expect(await a.outbox.markSent(again!.id, 'worker-b', 'activity-1')).to.equal(true);
        expect(await a.outbox.state(m.uniqueKey)).to.deep.equal({ state: 'sent', activityId: 'activity-1' });
        expect(await a.outbox.claimKey(m.uniqueKey, 'worker-a', 60_000)).to.equal(undefined);
        const gone = { ...m, uniqueKey: unique('msg') };
        await a.outbox.enqueue(gone);
        const doomed = await a.outbox.claimKey(gone.uniqueKey, 'worker-a', 60_000);
        await a.outbox.fail(doomed!.id, 'worker-a', 'unreachable');
        expect(await b.outbox.state(gone.uniqueKey)).to.deep.equal({ state: 'failed', error: 'unreachable' });
        const waiting = { ...m, uniqueKey: unique('msg') };
        await a.outbox.enqueue(waiting);
        expect(await b.outbox.prune(new Date(Date.now() + 60_000))).to.be.at.least(2);
        expect(await a.outbox.state(m.uniqueKey)).to.equal(undefined);
        expect(await a.outbox.state(gone.uniqueKey)).to.equal(undefined);
        expect(await a.outbox.state(waiting.uniqueKey), 'not finished: kept').to.deep.equal({ state: 'pending' });
      });
    });

    describe('outbox', () => {
      const message = (tenantId: string) => ({ uniqueKey: unique('msg'), tenantId, conversation: conversation('a:1'), activity: { type: 'message', text: 'Renew Fabrikam' } });

      it('queues a message once per key and lets each be claimed by one worker', async () => {
        const tenant = unique('partner');
        const messages = Array.from({ length: 30 }, () => message(tenant));
        for (const m of messages) expect(await a.outbox.enqueue(m)).to.equal(true);
        expect(await b.outbox.enqueue({ ...messages[0]!, activity: { type: 'message', text: 'again' } })).to.equal(false);
        const keys = new Set(messages.map((m) => m.uniqueKey));
        const claimAll = async (repos: Repositories, worker: string) => {
          const mine = [];
          for (let batch = await repos.outbox.claim(worker, 4, 60_000); batch.length > 0; batch = await repos.outbox.claim(worker, 4, 60_000)) mine.push(...batch.filter((m) => keys.has(m.uniqueKey)));
          return mine;
        };
        const [first, second] = await Promise.all([claimAll(a, 'worker-a'), claimAll(b, 'worker-b')]);
        const claimed = [...first, ...second].map((m) => m.uniqueKey);
        expect(claimed.sort()).to.deep.equal([...keys].sort());
        expect(first[0]).to.deep.include({ ...messages.find((m) => m.uniqueKey === first[0]!.uniqueKey), attempts: 1 });
        for (const m of first) expect(await a.outbox.markSent(m.id, 'worker-a', 'activity-1')).to.equal(true);
        expect(await b.outbox.markSent(second[0]!.id, 'worker-a')).to.equal(false);
        for (const m of second) expect(await b.outbox.markSent(m.id, 'worker-b')).to.equal(true);
        expect(await a.outbox.claim('worker-a', 100, 60_000)).to.satisfy((rest: Array<{ uniqueKey: string }>) => rest.every((m) => !keys.has(m.uniqueKey)));
      });

      it('retries a message later, gives a dead worker\'s claim to another when its lease ends, and keeps failed ones', async () => {
        const tenant = unique('partner');
        const m = message(tenant);
        await a.outbox.enqueue(m);
        const mine = async (repos: Repositories, worker: string, leaseMs: number) => (await repos.outbox.claim(worker, 100, leaseMs)).filter((c) => c.uniqueKey === m.uniqueKey);
        const [claimed] = await mine(a, 'worker-a', 60_000);
        await a.outbox.retryLater(claimed!.id, 'worker-a', 0, '503');
        // Now with no lease at all: as if worker-a died right after claiming.
        const [again] = await mine(a, 'worker-a', 0);
        expect(again?.attempts).to.equal(2);
        const [takenOver] = await mine(b, 'worker-b', 60_000);
        expect(takenOver?.attempts).to.equal(3);
        expect(await a.outbox.markSent(again!.id, 'worker-a')).to.equal(false);
        expect(await b.outbox.markSent(takenOver!.id, 'worker-b')).to.equal(true);
        const gone = message(tenant);
        await a.outbox.enqueue(gone);
        const [doomed] = (await a.outbox.claim('worker-a', 100, 60_000)).filter((c) => c.uniqueKey === gone.uniqueKey);
        await a.outbox.fail(doomed!.id, 'worker-a', '404 conversation not found');
        await a.outbox.retryLater(doomed!.id, 'worker-a', 0, 'too late');
        const later = message(tenant);
        await a.outbox.enqueue(later);
        const [throttled] = (await a.outbox.claim('worker-a', 100, 60_000)).filter((c) => c.uniqueKey === later.uniqueKey);
        await a.outbox.retryLater(throttled!.id, 'worker-a', 3_600_000, '429');
        const left = await b.outbox.claim('worker-b', 100, 0);
        expect(left.filter((c) => c.uniqueKey === gone.uniqueKey || c.uniqueKey === later.uniqueKey)).to.deep.equal([]);
      });
    });

    describe('send rate per tenant', () => {
      it("grants a tenant's sends per second across instances, and says how long to wait for the next second", async () => {
        const tenant = unique('partner');
        const at = new Date('2026-03-01T10:00:00.250Z');
        const waits = await Promise.all(Array.from({ length: 30 }, (_, i) => [a, b][i % 2]!.outbox.takeSendSlot(tenant, 10, at)));
        expect(waits.filter((wait) => wait === 0)).to.have.length(10);
        expect(waits.filter((wait) => wait === 750)).to.have.length(20);
        // Another tenant has its own rate; the next second has room again.
        expect(await a.outbox.takeSendSlot(unique('partner'), 10, at)).to.equal(0);
        expect(await b.outbox.takeSendSlot(tenant, 10, new Date('2026-03-01T10:00:01.000Z'))).to.equal(0);
      });
    });

    describe('embedded commerce: key catalogue and tenants', () => {
      it('issues a key once, blocks it, and finds unknown keys unknown', async () => {
        const k = catalogKey();
        expect(await a.keyCatalog.issue(k)).to.equal(true);
        expect(await b.keyCatalog.issue({ ...k, product: 'other' })).to.equal(false);
        expect(await b.keyCatalog.key(k.ref)).to.deep.equal(k);
        expect(await b.keyCatalog.isEmpty()).to.equal(false);
        expect(await a.keyCatalog.block(k.ref)).to.equal(true);
        expect((await b.keyCatalog.key(k.ref))?.status).to.equal('blocked');
        expect(await a.keyCatalog.block(hex64())).to.equal(false);
        expect(await a.keyCatalog.key(hex64())).to.equal(undefined);
        expect(await a.keyCatalog.key('not a hash')).to.equal(undefined);
      });

      it('creates a tenant and redeems its keys all or nothing, once per idempotency key and per domain', async () => {
        const keys = [catalogKey(), catalogKey({ seats: 5 })];
        for (const k of keys) await a.keyCatalog.issue(k);
        const t = tenant(keys.map((k) => k.ref));
        const created = await a.commerceTenants.create(t);
        expect(created).to.deep.equal({ created: { ...t, keyHandles: [...t.keyHandles].sort() } });
        // The retry of the same creation gets the same tenant, even asking with another domain.
        expect(await b.commerceTenants.create({ ...t, tenantId: randomUUID(), domain: `${unique('x')}.onmicrosoft.com` })).to.deep.equal({ existing: (created as { created: CommerceTenant }).created });
        expect(await b.commerceTenants.create(tenant([], { domain: t.domain }))).to.deep.equal({ refused: 'domainTaken' });
        for (const k of keys) expect((await b.keyCatalog.key(k.ref))).to.deep.include({ status: 'redeemed', redeemedFor: t.tenantId });
        // A creation with one key no longer available changes nothing: its other key stays available.
        const spare = catalogKey();
        await a.keyCatalog.issue(spare);
        const refused = tenant([spare.ref, keys[0]!.ref]);
        expect(await a.commerceTenants.create(refused)).to.deep.equal({ refused: 'keyUnavailable' });
        expect((await a.keyCatalog.key(spare.ref))?.status).to.equal('available');
        expect(await a.commerceTenants.byDomain(refused.domain)).to.equal(undefined);
        expect(await a.commerceTenants.byDomain(t.domain)).to.deep.equal((created as { created: CommerceTenant }).created);
      });

      it('lets exactly one of 50 creations racing for one key redeem it', async () => {
        const k = catalogKey();
        await a.keyCatalog.issue(k);
        const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => [a, b][i % 2]!.commerceTenants.create(tenant([k.ref]))));
        const winners = outcomes.filter((outcome) => 'created' in outcome) as Array<{ created: CommerceTenant }>;
        expect(winners).to.have.length(1);
        expect(outcomes.filter((outcome) => 'refused' in outcome && outcome.refused === 'keyUnavailable')).to.have.length(49);
        expect((await b.keyCatalog.key(k.ref))?.redeemedFor).to.equal(winners[0]!.created.tenantId);
      });

      it('changes a tenant with a renewal key in one transaction: a failed change redeems nothing', async () => {
        const k = catalogKey();
        const renewalKey = catalogKey();
        for (const key of [k, renewalKey]) await a.keyCatalog.issue(key);
        const t = tenant([k.ref]);
        await a.commerceTenants.create(t);
        const failed = await b.commerceTenants
          .update(t.tenantId, async (current, redeem) => {
            expect(await redeem(renewalKey.ref, 'renewal-1')).to.equal(true);
            throw new Error('the backend fell over after redeeming');
          })
          .catch((error: Error) => error.message);
        expect(failed).to.equal('the backend fell over after redeeming');
        expect((await a.keyCatalog.key(renewalKey.ref))?.status).to.equal('available');
        const renewed = await b.commerceTenants.update(t.tenantId, async (current, redeem) => {
          const ok = await redeem(renewalKey.ref, 'renewal-1');
          current.subscriptions[0]!.endDate = '2028-03-01';
          current.subscriptions[0]!.renewals.push('renewal-1');
          current.delegatedAdmins.push({ partnerTenantId: 'partner-1', roles: ['Global Administrator'], since: AT });
          const added = { objectId: randomUUID(), userPrincipalName: `cy@${t.domain}`, displayName: 'Cy', roles: [], licenses: ['Office 365 E3'] };
          current.users.push(added);
          current.addedUsers['request-1'] = added.objectId;
          return ok;
        });
        expect(renewed).to.deep.equal({ found: true, result: true });
        // The same renewal again finds its key redeemed by itself; another renewal finds it taken.
        expect(await a.commerceTenants.update(t.tenantId, (_, redeem) => redeem(renewalKey.ref, 'renewal-1'))).to.deep.equal({ found: true, result: true });
        expect(await a.commerceTenants.update(t.tenantId, (_, redeem) => redeem(renewalKey.ref, 'renewal-2'))).to.deep.equal({ found: true, result: false });
        const after = await a.commerceTenants.get(t.tenantId);
        expect(after?.subscriptions[0]).to.deep.include({ endDate: '2028-03-01', renewals: ['renewal-1'] });
        expect(after?.users.map((u) => u.displayName)).to.deep.equal(['Bea Admin', 'Cy']);
        expect(after?.addedUsers).to.deep.equal({ 'request-1': after?.users[1]!.objectId });
        expect(after?.delegatedAdmins).to.deep.equal([{ partnerTenantId: 'partner-1', roles: ['Global Administrator'], since: AT }]);
        expect(after?.keyHandles).to.deep.equal([k.ref]);
        expect(await a.commerceTenants.update(randomUUID(), () => 1)).to.deep.equal({ found: false });
      });

      it("keeps a tenant's subscriptions in the order they were added, and more seats assigned than paid for after a renewal", async () => {
        const t = tenant([]);
        await a.commerceTenants.create(t);
        const products = ['Office 365 E3', 'Microsoft 365 Business Standard', 'Exchange Online (Plan 1)', 'Office 365 E1', 'Microsoft 365 Business Basic'];
        await b.commerceTenants.update(t.tenantId, (current) => {
          for (const product of products.slice(1)) current.subscriptions.push({ ...current.subscriptions[0]!, id: randomUUID(), product });
          // Keys for fewer seats than are assigned: the partner was warned and unassigns afterwards.
          current.subscriptions[0]!.seats = 1;
          current.subscriptions[0]!.assignedSeats = 3;
        });
        const after = await a.commerceTenants.get(t.tenantId);
        expect(after?.subscriptions.map((s) => s.product)).to.deep.equal(products);
        expect(after?.subscriptions[0]).to.include({ seats: 1, assignedSeats: 3 });
      });
    });

    describe('commerce', () => {
      const relationship = (t: CommerceTenant, overrides: Partial<CommerceRelationship> = {}): CommerceRelationship => ({
        id: randomUUID(),
        idempotencyKey: randomUUID(),
        displayName: unique('Helpdesk'),
        partnerTenantId: t.partnerTenantId,
        customer: { tenantId: t.tenantId, displayName: t.organisationName },
        accessDetails: { unifiedRoles: [{ roleDefinitionId: 'fe930be7-5e62-47db-91af-98c3a49a38b1' }, { roleDefinitionId: '729827e3-9c14-49f7-bb1b-9608f156bbb8' }] },
        duration: 'P730D',
        autoExtendDuration: 'P180D',
        status: 'approvalPending',
        createdDateTime: AT,
        lastModifiedDateTime: AT,
        ...overrides,
      });
      const created = async (overrides: Partial<CommerceTenant> = {}) => {
        const k = catalogKey();
        await a.keyCatalog.issue(k);
        const t = tenant([k.ref], overrides);
        expect(await a.commerceTenants.create(t)).to.have.property('created');
        return t;
      };

      it("keeps a tenant's GDAP relationships through their life cycle, and the partner's names across its customers", async () => {
        const partner = unique('partner');
        const t = await created({ partnerTenantId: partner });
        const other = await created({ partnerTenantId: partner });
        const pending = relationship(t);
        await a.commerceTenants.update(t.tenantId, (current) => void current.relationships.push(pending));
        expect((await b.commerceTenants.get(t.tenantId))?.relationships).to.deep.equal([pending]);
        // Approved, later ended by the customer: every field as Graph names it, the optional ones too.
        const active = { ...pending, status: 'active' as const, activatedDateTime: '2026-03-02T08:00:00.000Z', lastModifiedDateTime: '2026-03-02T08:00:00.000Z', endDateTime: '2028-03-01T08:00:00.000Z' };
        await b.commerceTenants.update(t.tenantId, (current) => void (current.relationships[0] = active));
        const ended = { ...active, status: 'terminated' as const, autoExtendDuration: 'PT0S' as const, terminatedBy: 'customer' as const, lastModifiedDateTime: '2026-04-01T08:00:00.000Z', endDateTime: '2026-04-01T08:00:00.000Z' };
        const legacy = relationship(t, { id: `dap-1-${partner}`, idempotencyKey: `dap-1-${partner}`, displayName: 'Delegated admin (DAP)', duration: undefined, autoExtendDuration: 'PT0S', status: 'terminated', legacy: true, terminatedBy: 'partner', createdDateTime: '2025-01-01T00:00:00.000Z' });
        delete (legacy as { duration?: string }).duration;
        await a.commerceTenants.update(t.tenantId, (current) => {
          current.relationships[0] = ended;
          current.relationships.push(legacy);
        });
        const stored = (await b.commerceTenants.get(t.tenantId))?.relationships;
        // In the order they were added, whatever their dates.
        expect(stored).to.deep.equal([ended, legacy]);
        expect(await a.commerceTenants.byDomain(t.domain)).to.deep.include({ relationships: stored });
        const second = relationship(other, { displayName: 'Security' });
        await b.commerceTenants.update(other.tenantId, (current) => void current.relationships.push(second));
        expect((await a.commerceTenants.relationshipNames(partner)).sort()).to.deep.equal([pending.displayName, 'Delegated admin (DAP)', 'Security'].sort());
        expect(await a.commerceTenants.relationshipNames(unique('partner'))).to.deep.equal([]);
      });

      it('gives a display name to one of many requests racing for it across the partner\'s customers', async () => {
        const partner = unique('partner');
        const tenants = [await created({ partnerTenantId: partner }), await created({ partnerTenantId: partner })];
        const outcomes = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            [a, b][i % 2]!.commerceTenants.updateForPartner(tenants[i % 2]!.tenantId, partner, (current, taken) => {
              if (taken.some((name) => name.toLowerCase() === 'onboarding')) return false;
              current.relationships.push(relationship(current, { displayName: i % 3 === 0 ? 'Onboarding' : 'onboarding' }));
              return true;
            }),
          ),
        );
        expect(outcomes.filter((outcome) => outcome.found && outcome.result)).to.have.length(1);
        expect(await b.commerceTenants.relationshipNames(partner)).to.have.length(1);
        expect(await a.commerceTenants.updateForPartner(randomUUID(), partner, () => 1)).to.deep.equal({ found: false });
      });

      it('loses no change of seats or users when both instances change one tenant at once', async () => {
        const t = await created();
        await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            [a, b][i % 2]!.commerceTenants.update(t.tenantId, (current) => {
              current.subscriptions[0]!.assignedSeats += 1;
              const user = { objectId: randomUUID(), userPrincipalName: `user${i}@${t.domain}`, displayName: `User ${i}`, roles: [], licenses: ['Office 365 E3'] };
              current.users.push(user);
              current.addedUsers[`request-${i}`] = user.objectId;
            }),
          ),
        );
        const after = await a.commerceTenants.get(t.tenantId);
        expect(after?.subscriptions[0]?.assignedSeats).to.equal(9);
        expect(after?.users).to.have.length(9);
        expect(Object.keys(after?.addedUsers ?? {})).to.have.length(8);
      });

      it('redeems a key for one of many renewals racing for it, whichever instance and tenant asks', async () => {
        const k = catalogKey();
        await a.keyCatalog.issue(k);
        const tenants = [await created(), await created()];
        const renewals = Array.from({ length: 20 }, () => unique('renewal'));
        const outcomes = await Promise.all(
          renewals.map((renewal, i) =>
            [a, b][i % 2]!.commerceTenants.update(tenants[i % 2]!.tenantId, async (current, redeem) => {
              if (!(await redeem(k.ref, renewal))) return false;
              current.subscriptions[0]!.renewals.push(renewal);
              return true;
            }),
          ),
        );
        expect(outcomes.filter((outcome) => outcome.found && outcome.result)).to.have.length(1);
        const key = await b.keyCatalog.key(k.ref);
        const winner = tenants.find((t) => t.tenantId === key?.redeemedFor);
        expect((await a.commerceTenants.get(winner!.tenantId))?.subscriptions[0]?.renewals).to.deep.equal([key?.renewal]);
      });

      it('redeems several keys for one renewal', async () => {
        const keys = [catalogKey(), catalogKey()];
        for (const k of keys) await a.keyCatalog.issue(k);
        const t = await created();
        const renewal = unique('renewal');
        const outcome = await b.commerceTenants.update(t.tenantId, async (current, redeem) => {
          for (const k of keys) if (!(await redeem(k.ref, renewal))) return false;
          current.subscriptions[0]!.renewals.push(renewal);
          return true;
        });
        expect(outcome).to.deep.equal({ found: true, result: true });
        for (const k of keys) expect(await a.keyCatalog.key(k.ref)).to.deep.include({ status: 'redeemed', redeemedFor: t.tenantId, renewal });
      });

      it('knows the domains in use, and has nothing to recover when nothing was interrupted', async () => {
        const t = await created();
        expect(await b.commerceTenants.domainInUse(t.domain)).to.equal(true);
        expect(await b.commerceTenants.domainInUse(`${unique('free')}.onmicrosoft.com`)).to.equal(false);
        expect(await a.commerceTenants.recoverInterrupted()).to.equal(0);
        expect(await b.commerceTenants.get(t.tenantId)).to.deep.include({ domain: t.domain });
      });

      it('lists the catalogue oldest first, in one status or all', async () => {
        const issued = [catalogKey({ issuedAt: '2000-01-01T00:00:00.000Z' }), catalogKey({ issuedAt: '2000-01-02T00:00:00.000Z', status: 'blocked' })];
        for (const k of [...issued].reverse()) await b.keyCatalog.issue(k);
        const all = await a.keyCatalog.list();
        expect(all.slice(0, 2)).to.deep.equal(issued);
        expect(all.map((k) => k.issuedAt)).to.deep.equal([...all.map((k) => k.issuedAt)].sort());
        const blocked = await a.keyCatalog.list('blocked');
        expect(blocked[0]).to.deep.equal(issued[1]);
        expect(blocked.every((k) => k.status === 'blocked')).to.equal(true);
      });

      it("keeps the first check value of the key-hash secret, whoever records one after", async () => {
        const first = hex64();
        expect(await a.keyCatalog.secretCheck()).to.equal(undefined);
        const recorded = await Promise.all([a.keyCatalog.recordSecretCheck(first), b.keyCatalog.recordSecretCheck(first)]);
        expect(recorded).to.deep.equal([first, first]);
        expect(await b.keyCatalog.recordSecretCheck(hex64())).to.equal(first);
        expect(await a.keyCatalog.secretCheck()).to.equal(first);
      });
    });

    describe('runner lock', () => {
      it('runs a job on one instance at a time', async () => {
        let finish!: () => void;
        const running = a.runnerLock.runExclusive('reminders', () => new Promise<string>((resolve) => (finish = () => resolve('done by a'))));
        // Wait until a holds the lock: its work has started.
        while (!finish) await new Promise((resolve) => setImmediate(resolve));
        expect(await b.runnerLock.runExclusive('reminders', async () => 'done by b')).to.deep.equal({ ran: false });
        expect(await b.runnerLock.runExclusive('release', async () => 'other job')).to.deep.equal({ ran: true, result: 'other job' });
        finish();
        expect(await running).to.deep.equal({ ran: true, result: 'done by a' });
        expect(await b.runnerLock.runExclusive('reminders', async () => 'done by b')).to.deep.equal({ ran: true, result: 'done by b' });
      });
    });

    describe('several instances', () => {
      if (!capabilities.severalInstances) {
        it(`not by design: ${name} is one instance (one process owns it); the races above run between concurrent calls of that process`);
        return;
      }

      it("sees another instance's changes at once, never a copy it read before", async () => {
        const partner = unique('partner');
        const c = customer();
        await a.customers.add(partner, c);
        const s = setup({ status: 'reviewing' });
        await a.setups.insert(partner, s);
        // a reads everything first, as a cache would.
        expect((await a.customers.get(partner, c.tenantId))?.name).to.equal('Fabrikam');
        expect((await a.setups.find(partner, s.id))?.rev).to.equal(0);
        expect(await a.partners.staff(partner)).to.deep.equal({});
        await b.customers.update(partner, c.tenantId, (current) => ({ ...current, name: 'Fabrikam GmbH' }));
        await b.setups.update(partner, s.id, (current) => ({ ...current, rev: 1 }));
        await b.partners.rememberMember(partner, 'user-2', { name: 'Bo', conversation: conversation('a:2'), updatedAt: AT, reachable: true });
        expect((await a.customers.get(partner, c.tenantId))?.name).to.equal('Fabrikam GmbH');
        expect((await a.customers.list(partner)).map((x) => x.name)).to.deep.equal(['Fabrikam GmbH']);
        expect((await a.setups.find(partner, s.id))?.rev).to.equal(1);
        expect(Object.keys(await a.partners.staff(partner))).to.deep.equal(['user-2']);
        // a's change starts from b's, not from what a read before.
        await a.setups.update(partner, s.id, (current) => ({ ...current, rev: current.rev + 1 }));
        expect((await b.setups.find(partner, s.id))?.rev).to.equal(2);
      });
    });
  });
}

async function expectRejection(promise: Promise<unknown>): Promise<void> {
  const outcome = await promise.then(() => 'resolved', () => 'rejected');
  expect(outcome).to.equal('rejected');
}
