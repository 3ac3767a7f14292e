import { expect } from 'chai';
import { validateAdaptiveCard } from './support/card-validation.js';

const card = (body: object[], extra: object = {}) => ({ type: 'AdaptiveCard', version: '1.5', body, ...extra });

describe('validateAdaptiveCard', () => {
  it('passes a good card', () => {
    expect(validateAdaptiveCard(card([
      { type: 'TextBlock', text: 'Redeem product keys', style: 'heading', wrap: true },
      { type: 'FactSet', facts: [{ title: 'Customer', value: 'Contoso' }] },
      { type: 'Input.Text', id: 'key', label: 'Product key', isRequired: true, errorMessage: 'Enter a key' },
    ]))).to.deep.equal([]);
  });

  it('passes a valid Action.Execute card', () => {
    const actions = [{ type: 'Action.Execute', title: 'Redeem', verb: 'redeem', data: { step: 1 }, associatedInputs: 'auto' }];
    expect(validateAdaptiveCard(card([{ type: 'TextBlock', text: 'Ready?' }], { actions }))).to.deep.equal([]);
  });

  it("passes Teams' msteams width Full", () => {
    expect(validateAdaptiveCard(card([{ type: 'TextBlock', text: 'Wide' }], { msteams: { width: 'Full' } }))).to.deep.equal([]);
  });

  it('flags an unknown element type', () => {
    const problems = validateAdaptiveCard(card([{ type: 'TextBlok', text: 'typo' }]));
    expect(problems).to.include('renderer: UnknownElementType: Unknown element type "TextBlok". Fallback will be used if present.');
    expect(problems.some((p) => p.startsWith('schema: /body/0/type must be equal to one of the allowed values'))).to.equal(true);
  });

  it('flags a missing required property', () => {
    expect(validateAdaptiveCard(card([{ type: 'TextBlock' }]))).to.deep.equal(["schema: /body/0 must have required property 'text'"]);
  });

  it('flags a version Teams cannot render, or none', () => {
    for (const version of ['1.6', '2.0']) {
      const [problem, ...rest] = validateAdaptiveCard(card([{ type: 'TextBlock', text: 'x' }], { version }));
      expect(problem).to.match(new RegExp(`UnsupportedCardVersion: The specified card version \\(${version}\\)`));
      expect(rest).to.deep.equal([]);
    }
    expect(validateAdaptiveCard({ type: 'AdaptiveCard', body: [] })).to.deep.equal(["schema: / must have required property 'version'"]);
  });

  it('flags properties the schema does not know', () => {
    expect(validateAdaptiveCard(card([{ type: 'TextBlock', text: 'x', colour: 'good' }]))).to.deep.equal([
      'schema: /body/0 must NOT have additional properties: colour',
    ]);
  });
});
