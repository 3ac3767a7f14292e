import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { CommerceError } from '../src/commerce/commerce.js';
import { EmbeddedCommerce } from '../src/commerce/embeddedCommerce.js';
import { KeyIssuer } from '../src/commerce/keyIssuer.js';
import { openFileCommerce, openFileKeyCatalog } from '../src/store/files/commerce.js';
import { createKeyHasher } from '../src/commerce/keyHasher.js';
import { domainCandidates, validateAccount, type AccountInput } from '../src/domain/account.js';
import { countryChoices, isOffered, lookUpCountry, OFFERED_COUNTRIES } from '../src/domain/countries.js';
import { meetsComplexity, temporaryPassword, TEMPORARY_PASSWORD_LENGTH } from '../src/domain/password.js';
import { addMonths, planSubscriptions } from '../src/domain/subscriptions.js';
import { lookUpTimeZone, timeZoneChoices } from '../src/domain/timeZones.js';
import { filesUnder } from './support/secretScan.js';

const good: AccountInput = {
  country: 'DE',
  organisationName: '  Contoso   GmbH ',
  firstName: 'Eva',
  lastName: 'Muster',
  email: 'Eva@Contoso.example',
  phone: '+49 (89) 123-4567',
  domainPrefix: 'Contoso.onmicrosoft.com',
  signInName: 'eva.muster',
  language: 'de',
  partnerOfRecord: 'true',
};

describe('countries and regions', () => {
  it('lists only where the service is offered, named in the partner language', () => {
    const de = countryChoices('de');
    expect(de).to.have.length(OFFERED_COUNTRIES.length);
    expect(de.find((c) => c.code === 'DE')?.name).to.equal('Deutschland');
    expect(de.some((c) => (c.code as string) === 'CU')).to.equal(false);
    expect(countryChoices('en').find((c) => c.code === 'AT')?.name).to.equal('Austria');
  });

  it('tells a country where the service is not offered from text that is no country', () => {
    expect(lookUpCountry('de')).to.deep.equal({ offered: 'DE' });
    expect(lookUpCountry('Österreich')).to.deep.equal({ offered: 'AT' });
    expect(lookUpCountry('Deutschland')).to.deep.equal({ offered: 'DE' });
    expect(lookUpCountry('Kuba')).to.deep.equal({ notOffered: 'CU' });
    expect(lookUpCountry('North Korea')).to.deep.equal({ notOffered: 'KP' });
    expect(lookUpCountry('Atlantis')).to.deep.equal({ unknown: true });
    expect(isOffered('IR')).to.equal(false);
  });

  it('does not offer mainland China, where Microsoft 365 is operated by 21Vianet, and names it as not offered', () => {
    expect(isOffered('CN')).to.equal(false);
    expect(countryChoices('en').some((c) => (c.code as string) === 'CN')).to.equal(false);
    for (const typed of ['CN', 'China', 'china']) expect(lookUpCountry(typed), typed).to.deep.equal({ notOffered: 'CN' });
    expect(validateAccount({ ...good, country: 'China' })).to.have.property('errors').that.deep.includes({ field: 'country', code: 'countryNotOffered', country: 'CN' });
    // Hong Kong, Macao and Taiwan are markets of the global service.
    for (const code of ['HK', 'MO', 'TW']) expect(isOffered(code), code).to.equal(true);
  });
});

describe('account rules', () => {
  it('accepts a complete account and normalises it', () => {
    const result = validateAccount(good);
    expect(result).to.deep.equal({
      account: {
        country: 'DE',
        organisationName: 'Contoso GmbH',
        firstName: 'Eva',
        lastName: 'Muster',
        email: 'eva@contoso.example',
        phone: '+49 (89) 123-4567',
        domainPrefix: 'contoso',
        signInName: 'eva.muster',
        language: 'de',
        partnerOfRecord: true,
      },
    });
  });

  const cases: Array<[string, AccountInput, string, string]> = [
    ['a missing organisation', { organisationName: ' ' }, 'organisationName', 'required'],
    ['a name over 64 characters', { lastName: 'x'.repeat(65) }, 'lastName', 'tooLong'],
    ['a control character', { firstName: 'Eva\u0007' }, 'firstName', 'invalid'],
    ['an email without domain', { email: 'eva@' }, 'email', 'emailSyntax'],
    ['a phone with letters', { phone: '+49 89 CALL ME' }, 'phone', 'phoneSyntax'],
    ['a phone too short', { phone: '12345' }, 'phone', 'phoneSyntax'],
    ['a domain with a dot', { domainPrefix: 'con.toso' }, 'domainPrefix', 'domainCharacters'],
    ['a domain ending in a hyphen', { domainPrefix: 'contoso-' }, 'domainPrefix', 'domainHyphen'],
    ['a domain of 28 characters', { domainPrefix: 'a'.repeat(28) }, 'domainPrefix', 'tooLong'],
    ['a sign-in name with two dots', { signInName: 'eva..m' }, 'signInName', 'signInSyntax'],
    ['a language not offered', { language: 'xx' }, 'language', 'invalid'],
    ['a country not offered', { country: 'CU' }, 'country', 'countryNotOffered'],
    ['an unknown country', { country: 'Narnia' }, 'country', 'countryUnknown'],
  ];
  for (const [name, change, field, code] of cases) {
    it(`refuses ${name}`, () => {
      const result = validateAccount({ ...good, ...change });
      expect(result).to.have.property('errors').that.deep.includes(code === 'tooLong' ? { field, code, max: field === 'domainPrefix' ? 27 : 64 } : code === 'countryNotOffered' ? { field, code, country: 'CU' } : { field, code });
    });
  }

  it('reports every problem at once', () => {
    const result = validateAccount({});
    expect((result as { errors: unknown[] }).errors).to.have.length(9);
  });

  it('suggests domains from the organisation name and numbered variants', () => {
    expect(domainCandidates('Contoso GmbH', 'contoso').slice(0, 3)).to.deep.equal(['contosogmbh', 'contoso1', 'contoso2']);
    expect(domainCandidates('Müller & Söhne', 'mueller')[0]).to.equal('muellersoehne');
    expect(domainCandidates('x'.repeat(40), 'y'.repeat(27)).every((c) => c.length <= 27)).to.equal(true);
  });
});

describe('subscriptions from keys', () => {
  it('adds calendar months, clamping to the month end', () => {
    expect(addMonths('2026-03-02', 12)).to.equal('2027-03-02');
    expect(addMonths('2026-01-31', 1)).to.equal('2026-02-28');
    expect(addMonths('2027-12-31', 2)).to.equal('2028-02-29');
  });

  it('makes one subscription per product and term with the seats summed', () => {
    const keys = [
      { product: 'A', seats: 10, termMonths: 12 },
      { product: 'A', seats: 5, termMonths: 12 },
      { product: 'B', seats: 3, termMonths: 24 },
      { product: 'A', seats: 1, termMonths: 24 },
    ];
    expect(planSubscriptions(keys, '2026-03-02')).to.deep.equal([
      { product: 'A', seats: 15, termMonths: 12, startDate: '2026-03-02', endDate: '2027-03-02' },
      { product: 'B', seats: 3, termMonths: 24, startDate: '2026-03-02', endDate: '2028-03-02' },
      { product: 'A', seats: 1, termMonths: 24, startDate: '2026-03-02', endDate: '2028-03-02' },
    ]);
  });
});

describe('embedded commerce: creating tenants', () => {
  let dir: string;
  let commerce: EmbeddedCommerce;
  const hash = createKeyHasher('k'.repeat(32));
  const now = () => new Date('2026-03-02T09:00:00Z');
  const request = (handles: string[], extra = {}) => ({
    idempotencyKey: '11111111-1111-4111-8111-111111111111',
    partnerTenantId: 'partner',
    country: 'DE',
    organisationName: 'Contoso',
    language: 'de',
    domainPrefix: 'contoso',
    admin: { firstName: 'Eva', lastName: 'Muster', email: 'eva@contoso.example', phone: '+4989123456', signInName: 'eva' },
    keyHandles: handles,
    partnerOfRecord: '1234567',
    today: '2026-03-02',
    ...extra,
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'psb-tenant-'));
    commerce = await EmbeddedCommerce.open(await openFileCommerce(dir), hash, now);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('creates a tenant whose admin has the admin role and a license, and redeems the keys', async () => {
    const keys = await commerce.issueKeys({ product: 'Business Standard', seats: 10, months: 12, count: 2 });
    const created = await commerce.createTenant(request(keys.map(hash)));
    expect(created.domain).to.equal('contoso.onmicrosoft.com');
    expect(created.tenantId).to.match(/^[0-9a-f-]{36}$/);
    expect(created.admin).to.include({ userPrincipalName: 'eva@contoso.onmicrosoft.com', license: 'Business Standard' });
    expect(created.admin.roles).to.deep.equal(['Global Administrator']);
    expect(created.subscriptions).to.have.length(1);
    expect(created.subscriptions[0]).to.include({ seats: 20, assignedSeats: 1, startDate: '2026-03-02', endDate: '2027-03-02', partnerOfRecord: '1234567' });
    for (const key of keys) expect((await commerce.checkKey(key)).status).to.equal('redeemed');
    expect(await commerce.isDomainAvailable('contoso')).to.equal(false);
  });

  it("starts the subscriptions on the partner's calendar day, and refuses a day that is today in no time zone", async () => {
    const keys = await commerce.issueKeys({ product: 'P', seats: 1, months: 12, count: 2 });
    // 09:00 UTC is already 22:00 of the next day in Auckland.
    const created = await commerce.createTenant(request([hash(keys[0]!)], { today: '2026-03-03' }));
    expect(created.subscriptions.map((s) => [s.startDate, s.endDate])).to.deep.equal([['2026-03-03', '2027-03-03']]);
    const wrong = await commerce.createTenant(request([hash(keys[1]!)], { today: '2026-03-05', domainPrefix: 'fabrikam', idempotencyKey: '33333333-3333-4333-8333-333333333333' })).catch((e) => e);
    expect(wrong).to.be.instanceOf(CommerceError).with.property('code', 'invalidRequest');
  });

  it('returns the same tenant for a retry and refuses the domain to anyone else', async () => {
    const keys = await commerce.issueKeys({ product: 'P', seats: 1, months: 12, count: 2 });
    const first = await commerce.createTenant(request([hash(keys[0]!)]));
    const retry = await commerce.createTenant(request([hash(keys[0]!)]));
    expect(retry.tenantId).to.equal(first.tenantId);
    const other = await commerce.createTenant(request([hash(keys[1]!)], { idempotencyKey: '22222222-2222-4222-8222-222222222222' })).catch((e) => e);
    expect(other).to.be.instanceOf(CommerceError).with.property('code', 'domainTaken');
    expect((await commerce.checkKey(keys[1]!)).status).to.equal('valid');
    // The same idempotency key from another partner is not a retry: it gets nothing of the first.
    const foreign = await commerce.createTenant(request([hash(keys[1]!)], { partnerTenantId: 'another-partner' })).catch((e) => e);
    expect(foreign).to.be.instanceOf(CommerceError).with.property('code', 'domainTaken');
  });

  it('hands out a new temporary password with every answer and with every reset, to the creating or a delegated partner only, and keeps none', async () => {
    const keys = await commerce.issueKeys({ product: 'P', seats: 1, months: 12, count: 1 });
    const created = await commerce.createTenant(request([hash(keys[0]!)]));
    const retry = await commerce.createTenant(request([hash(keys[0]!)]));
    const reset = await commerce.resetAdminPassword(created.tenantId, 'partner');
    expect(reset.userPrincipalName).to.equal('eva@contoso.onmicrosoft.com');
    const refused = await commerce.resetAdminPassword(created.tenantId, 'another-partner').catch((e) => e);
    expect(refused).to.be.instanceOf(CommerceError).with.property('code', 'notDelegated');
    expect(await commerce.resetAdminPassword('no-such-tenant', 'partner').catch((e) => e)).to.be.instanceOf(CommerceError).with.property('code', 'unknownTenant');
    await commerce.setDelegatedAdmin(created.tenantId, 'another-partner', true);
    const delegated = await commerce.resetAdminPassword(created.tenantId, 'another-partner');
    const passwords = [created.admin.temporaryPassword, retry.admin.temporaryPassword, reset.temporaryPassword, delegated.temporaryPassword];
    expect(new Set(passwords).size).to.equal(4);
    for (const password of passwords) expect(meetsComplexity(password)).to.equal(true);
    for (const file of await filesUnder(dir)) {
      const text = await readFile(file, 'utf8');
      for (const password of passwords) expect(text.includes(password), file).to.equal(false);
    }
  });

  it('refuses a redeemed or blocked key and creates nothing', async () => {
    const keys = await commerce.issueKeys({ product: 'P', seats: 1, months: 12, count: 2 });
    await commerce.blockKey(keys[1]!);
    const error = await commerce.createTenant(request(keys.map(hash))).catch((e) => e);
    expect(error).to.be.instanceOf(CommerceError).with.property('code', 'keyUnavailable');
    expect(await commerce.isDomainAvailable('contoso')).to.equal(true);
    expect((await commerce.checkKey(keys[0]!)).status).to.equal('valid');
  });

  it('rolls back a creation a crash left half-done when the bot opens it again, and not when the key CLI opens it', async () => {
    const keys = await commerce.issueKeys({ product: 'P', seats: 1, months: 12, count: 1 });
    await commerce.createTenant(request([hash(keys[0]!)]));
    // Rewrite the files into the state between "tenant recorded" and "all keys redeemed".
    const { readdir, readFile, writeFile } = await import('node:fs/promises');
    const tenantsDir = join(dir, 'commerce', 'tenants');
    for (const file of await readdir(tenantsDir)) {
      const doc = JSON.parse(await readFile(join(tenantsDir, file), 'utf8'));
      for (const record of Object.values<any>(doc.tenants)) record.status = 'provisioning';
      await writeFile(join(tenantsDir, file), JSON.stringify(doc));
    }
    // The key CLI, opened beside the bot, leaves what looks half-done to the bot that owns it.
    const cli = new KeyIssuer(await openFileKeyCatalog(dir), hash, now);
    await cli.issueKeys({ product: 'P', seats: 1, months: 12, count: 1 });
    expect((await (await openFileKeyCatalog(dir)).key(hash(keys[0]!)))?.status).to.equal('redeemed');
    const reopened = await EmbeddedCommerce.open(await openFileCommerce(dir), hash, now);
    expect(await reopened.isDomainAvailable('contoso')).to.equal(true);
    expect((await reopened.checkKey(keys[0]!)).status).to.equal('valid');
  });
});

describe('temporary passwords', () => {
  it('meet Microsoft 365 complexity rules even from the least random source', () => {
    // A source that always answers 0 still yields one character of every class.
    const password = temporaryPassword(() => 0);
    expect(password).to.have.length(TEMPORARY_PASSWORD_LENGTH);
    expect(meetsComplexity(password)).to.equal(true);
    expect([/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].every((kind) => kind.test(password))).to.equal(true);
  });

  it('tells passwords Microsoft 365 would refuse', () => {
    expect(meetsComplexity('Abc12!')).to.equal(false);
    expect(meetsComplexity('abcdefgh1')).to.equal(false);
    expect(meetsComplexity('Abcdefgh1')).to.equal(true);
    expect(meetsComplexity('Abcd efgh1')).to.equal(false);
    expect(meetsComplexity(`Aa1${'x'.repeat(254)}`)).to.equal(false);
  });
});

describe('time zones to pick from', () => {
  const winter = new Date('2026-01-15T12:00:00Z');
  const summer = new Date('2026-07-15T12:00:00Z');

  it('names each zone by its standard offset and its cities, in the reader language, west to east', () => {
    const de = timeZoneChoices('de', summer);
    expect(de.find((c) => c.id === 'Europe/Berlin')?.name).to.equal('(UTC+01:00) Berlin, Wien, Zürich');
    expect(timeZoneChoices('en', winter).find((c) => c.id === 'Europe/Berlin')?.name).to.equal('(UTC+01:00) Berlin, Vienna, Zurich');
    expect(de.find((c) => c.id === 'America/New_York')?.name).to.equal('(UTC-05:00) Ostküstenzeit (USA & Kanada)');
    expect(de.find((c) => c.id === 'Asia/Kathmandu')?.name).to.equal('(UTC+05:45) Kathmandu');
    expect(de.find((c) => c.id === 'UTC')?.name).to.equal('(UTC) Koordinierte Weltzeit');
    // Sydney's summer is in January: its standard offset is still +10.
    expect(de.find((c) => c.id === 'Australia/Sydney')?.name).to.equal('(UTC+10:00) Canberra, Melbourne, Sydney');
    const offsets = de.map((c) => c.name.match(/^\(UTC([+-]\d\d):(\d\d)\)/)).map((m) => (m ? Math.sign(Number(m[1])) * (Math.abs(Number(m[1])) * 60 + Number(m[2])) : 0));
    expect(offsets).to.deep.equal([...offsets].sort((a, b) => a - b));
  });

  it('keeps a typed zone the list lacks as a choice of its own', () => {
    const choices = timeZoneChoices('en', winter, 'asia/colombo');
    expect(choices.find((c) => c.id === 'Asia/Colombo')?.name).to.equal('(UTC+05:30) Asia/Colombo');
    expect(timeZoneChoices('en', winter, 'Europe/Berlin').filter((c) => c.id === 'Europe/Berlin')).to.have.length(1);
  });

  it('takes an IANA id in any case or a name from the list, in either language, and nothing else', () => {
    expect(lookUpTimeZone('europe/lisbon', winter)).to.equal('Europe/Lisbon');
    expect(lookUpTimeZone('(UTC+01:00) Berlin, Wien, Zürich', winter)).to.equal('Europe/Berlin');
    expect(lookUpTimeZone(' (utc+01:00) berlin, vienna, zurich ', winter)).to.equal('Europe/Berlin');
    expect(lookUpTimeZone('Berlin', winter)).to.equal(undefined);
    expect(lookUpTimeZone('Mars/Olympus_Mons', winter)).to.equal(undefined);
    expect(lookUpTimeZone('', winter)).to.equal(undefined);
  });
});
