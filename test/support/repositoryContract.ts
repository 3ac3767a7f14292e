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
import type { Setup, SetupKey } from '../../src/domain/setup.js';
import type { CatalogKey, CommerceTenant, Member, ReminderRecord, Repositories } from '../../src/store/repositories.js';

export interface ContractStore {
  /** Two handles on one store; for PostgreSQL, two pools (as two instances would have). */
  instances: [Repositories, Repositories];
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

function entry(partnerTenantId: string, id: string, verb: string, customerTenantId?: string): AuditDraft {
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

      it('keeps the reminder channel', async () => {
        const tenant = unique('partner');
        expect(await a.partners.reminderChannel(tenant)).to.equal(undefined);
        const channel = { conversation: conversation('19:channel'), setBy: 'user-1', setAt: AT, reachable: true };
        await a.partners.setReminderChannel(tenant, channel);
        await b.partners.markReminderChannelUnreachable(tenant);
        expect(await a.partners.reminderChannel(tenant)).to.deep.equal({ ...channel, reachable: false });
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
        expect((await a.customers.get(partner, c.tenantId))?.offers.map((o) => o.relationship?.displayName ?? o.status)).to.deep.equal(['Fabrikam onboarding', 'Fabrikam helpdesk', 'accepted']);
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
      const dueFor = async (repos: Repositories, at: string, subscriptionId: string) => (await repos.reminders.dueReminders(new Date(at), 10_000)).filter((due) => due.subscription.id === subscriptionId);

      it("finds a subscription whose reminder is due on its partner's own day, until it is recorded", async () => {
        const { partner, c, s } = await remindedCustomer('Pacific/Auckland');
        const utc = await remindedCustomer('UTC');
        // 28 February, 20:00 UTC: 1 March in Auckland, still 28 February in UTC.
        const due = await dueFor(b, '2026-02-28T20:00:00Z', s.id);
        expect(due).to.deep.equal([{ partnerTenantId: partner, today: '2026-03-01', customerTenantId: c.tenantId, subscription: s, recorded: [] }]);
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
