import { expect } from 'chai';
import {
  anyone,
  assignRole,
  check,
  customerAdmin,
  permissionTable,
  refusalData,
  renderPermissionTable,
  ROLES,
  rolesAfterProfileSaved,
  rolesAfterUpgrade,
  roleOf,
  staff,
  type Permission,
  type Requester,
  type Role,
  type RoleBook,
} from '../src/domain/roles.js';

const now = new Date('2026-12-04T10:00:00.000Z');
const jonas = { userId: 'u-jonas', name: 'Jonas Keller' };
const mia = { userId: 'u-mia', name: 'Mia Brandt' };
const tom = { userId: 'u-tom', name: 'Tom Weber' };
const known = new Map([jonas, mia, tom].map((p) => [p.userId, p.name]));

/** A small table shaped like the bot's: the phase-2 flows declare the real verbs the same way. */
const declarations: Permission[] = [
  { verb: 'welcome.show', access: anyone, does: 'See the welcome card and help' },
  { verb: 'redeem.confirm', access: staff(['sales']), does: 'Redeem product keys' },
  { verb: 'customer.open', access: staff(['sales', 'helpdesk']), does: 'See a customer' },
  { verb: 'user.add', access: staff(['helpdesk']), does: 'Add a user' },
  { verb: 'billing.switch', access: staff(), does: 'Switch to direct billing' },
  { verb: 'profile.save', access: staff([], { whileNoAdmin: true }), does: 'Save the partner profile' },
  { verb: 'offer.accept', access: customerAdmin, does: 'Accept delegated administration' },
];
const table = permissionTable(declarations);

describe('roles in the partner organisation', () => {
  it('the first person to save the profile becomes Admin agent; later savers do not', () => {
    const first = rolesAfterProfileSaved({}, jonas, now);
    expect(roleOf(first.book, jonas.userId)).to.equal('admin');
    expect(first.change).to.deep.include({ userId: jonas.userId, to: 'admin', reason: 'firstProfile' });
    const second = rolesAfterProfileSaved(first.book, mia, now);
    expect(roleOf(second.book, mia.userId)).to.equal(undefined);
    expect(second.change).to.equal(undefined);
  });

  it('upgrade: everyone who could act before becomes Admin agent, each change recorded; a partner with roles keeps them', () => {
    const { book, changes } = rolesAfterUpgrade(undefined, [jonas, mia, jonas], now);
    expect(Object.keys(book).sort()).to.deep.equal([jonas.userId, mia.userId]);
    expect(Object.values(book).every((a) => a.role === 'admin' && a.reason === 'upgrade')).to.equal(true);
    expect(changes.map((c) => c.userId)).to.deep.equal([jonas.userId, mia.userId]);
    // Existing staff keep working: an upgraded person may run an admin-only verb.
    expect(check(table, 'billing.switch', { side: 'partner', role: roleOf(book, mia.userId), tenantHasAdmin: true })).to.deep.equal({ allowed: true });
    const again = rolesAfterUpgrade(book, [tom], now);
    expect(again.book).to.deep.equal(book);
    expect(again.changes).to.deep.equal([]);
  });

  it('the last Admin agent cannot remove their own role, nor lose it to another change; with two, one may step down', () => {
    const book = rolesAfterProfileSaved({}, jonas, now).book;
    expect(assignRole(book, jonas, jonas.userId, undefined, known, now)).to.deep.equal({ refused: 'lastAdmin' });
    expect(assignRole(book, jonas, jonas.userId, 'sales', known, now)).to.deep.equal({ refused: 'lastAdmin' });
    const two = assignRole(book, jonas, mia.userId, 'admin', known, now);
    if ('refused' in two) throw new Error('refused');
    expect(two.change).to.deep.include({ userId: mia.userId, to: 'admin', reason: 'assigned' });
    const down = assignRole(two.book, jonas, jonas.userId, 'sales', known, now);
    if ('refused' in down) throw new Error('refused');
    expect(roleOf(down.book, jonas.userId)).to.equal('sales');
    expect(down.book[jonas.userId]!.assignedBy).to.equal(jonas.userId);
  });

  it('only Admin agents assign roles, and only to people the bot has met in the tenant', () => {
    let book: RoleBook = rolesAfterProfileSaved({}, jonas, now).book;
    const sales = assignRole(book, jonas, mia.userId, 'sales', known, now);
    if ('refused' in sales) throw new Error('refused');
    book = sales.book;
    expect(assignRole(book, mia, tom.userId, 'admin', known, now)).to.deep.equal({ refused: 'notAdmin' });
    expect(assignRole(book, jonas, 'u-stranger', 'sales', known, now)).to.deep.equal({ refused: 'unknownPerson' });
    const removed = assignRole(book, jonas, mia.userId, undefined, known, now);
    if ('refused' in removed) throw new Error('refused');
    expect(roleOf(removed.book, mia.userId)).to.equal(undefined);
    expect(removed.change).to.deep.include({ from: 'sales', to: undefined });
    // Giving someone the role they have changes nothing and records nothing.
    expect(assignRole(book, jonas, mia.userId, 'sales', known, now)).to.deep.equal({ book });
  });

  it('checks every declared verb for every role against the declaration', () => {
    const requesters: Array<[string, Requester]> = [
      ...ROLES.map((role): [string, Requester] => [role, { side: 'partner', role, tenantHasAdmin: true }]),
      ['no role', { side: 'partner', tenantHasAdmin: true }],
      ["customer's admin", { side: 'customer' }],
    ];
    const expected: Record<string, string[]> = {
      'welcome.show': ['admin', 'sales', 'helpdesk', 'no role', "customer's admin"],
      'redeem.confirm': ['admin', 'sales'],
      'customer.open': ['admin', 'sales', 'helpdesk'],
      'user.add': ['admin', 'helpdesk'],
      'billing.switch': ['admin'],
      'profile.save': ['admin'],
      'offer.accept': ["customer's admin"],
    };
    for (const { verb } of declarations) {
      const allowed = requesters.filter(([, who]) => check(table, verb, who).allowed).map(([name]) => name);
      expect(allowed, verb).to.deep.equal(expected[verb]);
    }
  });

  it('a verb nobody declared is refused to everyone (a forged invoke), and a verb declared twice stops the start', () => {
    expect(check(table, 'forged.verb', { side: 'partner', role: 'admin', tenantHasAdmin: true }).allowed).to.equal(false);
    expect(() => permissionTable([...declarations, declarations[1]!])).to.throw(/redeem.confirm is declared twice/);
  });

  it('the partner profile is open to anyone of the tenant only while it has no Admin agent', () => {
    expect(check(table, 'profile.save', { side: 'partner', tenantHasAdmin: false })).to.deep.equal({ allowed: true });
    expect(check(table, 'profile.save', { side: 'partner', tenantHasAdmin: true })).to.deep.equal({ allowed: false, needed: ['admin'] });
    expect(check(table, 'profile.save', { side: 'customer' }).allowed).to.equal(false);
  });

  it("a refusal names the role needed and who holds it, least powerful role first", () => {
    let book: RoleBook = rolesAfterProfileSaved({}, jonas, now).book;
    const sales = assignRole(book, jonas, mia.userId, 'sales', known, now);
    if ('refused' in sales) throw new Error('refused');
    book = sales.book;
    const refused = check(table, 'redeem.confirm', { side: 'partner', tenantHasAdmin: true });
    if (refused.allowed || refused.needed === 'customerAdmin') throw new Error('expected a role refusal');
    expect(refusalData('redeem.confirm', refused.needed, book)).to.deep.equal({
      verb: 'redeem.confirm',
      needed: ['sales', 'admin'] satisfies Role[],
      holders: [
        { ...mia, role: 'sales' },
        { ...jonas, role: 'admin' },
      ],
      claimable: false,
    });
    expect(refusalData('billing.switch', ['admin'], {}).claimable, 'nobody is Admin agent yet: saving the profile claims it').to.equal(true);
  });

  it('renders the README table from the declarations', () => {
    const rendered = renderPermissionTable(declarations).split('\n');
    expect(rendered[0]).to.equal('| What | Verb | Admin agent | Sales agent | Helpdesk agent | No role |');
    expect(rendered).to.include('| Redeem product keys | `redeem.confirm` | ✓ | ✓ |  |  |');
    expect(rendered).to.include('| Add a user | `user.add` | ✓ |  | ✓ |  |');
    expect(rendered).to.include("| Accept delegated administration | `offer.accept` |  |  |  | customer's admin only |");
    expect(rendered).to.include('| Save the partner profile | `profile.save` | ✓ |  |  | until the tenant has an Admin agent |');
    expect(rendered).to.have.length(declarations.length + 2);
  });
});
