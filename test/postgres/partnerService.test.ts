/**
 * The partner service on two instances of one PostgreSQL database, with nothing but the
 * repositories and the trail in the database: roles and their entries hold across instances.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { pino } from 'pino';
import type { Actor } from '../../src/domain/actor.js';
import { DEFAULT_LIFECYCLE } from '../../src/domain/lifecycle.js';
import { AuditTrail } from '../../src/partners/auditTrail.js';
import { PartnerService } from '../../src/partners/partnerService.js';
import { PostgresAuditLog } from '../../src/store/postgres/auditLog.js';
import type { Pool } from '../../src/store/postgres/database.js';
import { openPostgres } from '../../src/store/postgres/index.js';
import { freshDatabase } from '../support/postgres.js';

const profile = { organisationName: 'Contoso Partners', partnerId: '1234567', timeZone: 'Europe/Berlin' };
const chat = (id: string) => ({ serviceUrl: 'https://smba.example/emea/', channelId: 'msteams', conversation: { id }, bot: { id: '28:bot' }, user: { id: `29:${id}` } });

describe('partner service on two instances of one PostgreSQL database', () => {
  const now = () => new Date('2026-03-01T10:00:00Z');
  let pools: Pool[];
  let services: [PartnerService, PartnerService];
  let trails: [AuditTrail, AuditTrail];

  before(async function () {
    const url = await freshDatabase(this);
    const opened = await Promise.all([openPostgres(url, DEFAULT_LIFECYCLE), openPostgres(url, DEFAULT_LIFECYCLE)]);
    pools = opened.map((o) => o.pool);
    trails = opened.map(({ pool, repositories }) => new AuditTrail(repositories.partners, new PostgresAuditLog(pool), now, 730, pino({ level: 'silent' }))) as [AuditTrail, AuditTrail];
    services = opened.map(({ repositories }, i) => new PartnerService(repositories, now, trails[i]!)) as [PartnerService, PartnerService];
  });
  after(() => Promise.all((pools ?? []).map((pool) => pool.end())));

  const entries = async (tenantId: string) => (await pools[0]!.query('SELECT verb, actor_object_id, actor_role, details FROM audit_entries WHERE partner_tenant_id = $1 ORDER BY seq', [tenantId])).rows;

  it('makes one Admin agent of two people saving the first profile at once on two instances, each save recorded once', async () => {
    const tenantId = `partner-${randomUUID()}`;
    const ada: Actor = { tenantId, userId: 'user-ada', name: 'Ada' };
    const bo: Actor = { tenantId, userId: 'user-bo', name: 'Bo' };
    await Promise.all([services[0].saveProfile(ada, profile), services[1].saveProfile(bo, profile)]);
    const book = (await services[1].roles(tenantId))!;
    expect(Object.values(book).map((assignment) => `${assignment.role}/${assignment.reason}`)).to.deep.equal(['admin/firstProfile']);
    const recorded = await entries(tenantId);
    expect(recorded.map((row) => row.verb).sort()).to.deep.equal(['profile.save', 'profile.save', 'role.firstProfile']);
    expect(recorded.find((row) => row.verb === 'role.firstProfile')?.actor_object_id).to.equal(Object.keys(book)[0]);
    expect(await services[0].organisationName(tenantId)).to.equal('Contoso Partners');
  });

  it('remembers staff and their welcome across instances, and gives roles only to people met', async () => {
    const tenantId = `partner-${randomUUID()}`;
    const ada: Actor = { tenantId, userId: 'user-ada', name: 'Ada' };
    const bo: Actor = { tenantId, userId: 'user-bo', name: 'Bo' };
    await services[0].rememberMember(ada, { locale: 'de-DE', timeZone: 'Europe/Berlin', conversation: chat('a:1') });
    await services[1].rememberMember(bo, { locale: undefined, timeZone: undefined, conversation: chat('b:1') });
    await services[0].rememberWelcome(bo, { conversationId: 'b:1', activityId: 'act-1', language: 'en' });
    expect(await services[1].recentWelcome(bo, 'b:1')).to.deep.include({ activityId: 'act-1', language: 'en' });
    expect(await services[1].recentWelcome(bo, 'other chat')).to.equal(undefined);
    await services[1].saveProfile(ada, profile);
    expect(await services[0].assignRole(ada, 'user-nobody', 'sales')).to.deep.equal({ refused: 'unknownPerson' });
    expect(await services[0].assignRole(bo, 'user-ada', undefined)).to.deep.equal({ refused: 'notAdmin' });
    expect(await services[1].assignRole(ada, 'user-bo', 'helpdesk')).to.deep.equal({ changed: true });
    expect(await services[0].assignRole(ada, 'user-ada', undefined)).to.deep.equal({ refused: 'lastAdmin' });
    expect((await services[0].people(tenantId)).map((p) => `${p.name}:${p.role}`)).to.deep.equal(['Ada:admin', 'Bo:helpdesk']);
    const assigned = (await entries(tenantId)).filter((row) => row.verb === 'role.assign');
    expect(assigned).to.deep.equal([{ verb: 'role.assign', actor_object_id: 'user-ada', actor_role: 'admin', details: { person: 'Bo', personId: 'user-bo', from: 'none', to: 'Helpdesk agent' } }]);
    await trails[1].refused(tenantId, bo, { id: `refused:${randomUUID()}`, verb: 'roles.assign' }, 'role');
    expect((await entries(tenantId)).at(-1)).to.deep.include({ verb: 'roles.assign', actor_role: 'helpdesk' });
  });

  it('upgrades a partner from before roles once, recorded by the system', async () => {
    const tenantId = `partner-${randomUUID()}`;
    const ada: Actor = { tenantId, userId: 'user-ada', name: 'Ada' };
    await services[0].rememberMember(ada, { locale: 'en-US', timeZone: undefined, conversation: chat('a:1') });
    await pools[0]!.query('UPDATE partners SET has_role_book = false WHERE tenant_id = $1', [tenantId]);
    expect(await services[0].roles(tenantId)).to.equal(undefined);
    const [first, second] = await Promise.all([services[0].ensureRoles(tenantId), services[1].ensureRoles(tenantId)]);
    expect(first).to.deep.equal(second).and.to.have.nested.property('user-ada.role', 'admin');
    expect(await entries(tenantId)).to.deep.equal([{ verb: 'role.upgrade', actor_object_id: 'partner-setup-bot', actor_role: 'system', details: { person: 'Ada', personId: 'user-ada', from: 'none', to: 'Admin agent' } }]);
  });
});
