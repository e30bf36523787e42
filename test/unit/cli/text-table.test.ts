import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clipToWidth, displayWidth, renderTable } from '../../../src/client/text-table';

describe('renderTable', () => {
  it('aligns columns to the widest cell or title, right-aligns numbers, leaves the last column unpadded', () => {
    const lines = renderTable(
      [{ title: 'stage' }, { title: 'try', align: 'right' }, { title: 'detail' }],
      [
        ['prepare', '1', 'ok'],
        ['train', '12', ''],
      ],
    );
    assert.deepEqual(lines, ['stage    try  detail', 'prepare    1  ok', 'train     12']);
  });

  it('keeps minimum widths and per-column separators, and passes full-width lines through', () => {
    const lines = renderTable(
      [{ title: '' }, { title: 'trial', align: 'right', minWidth: 5, separator: ' ' }, { title: 'state', minWidth: 9 }],
      [['*', '3', 'running'], { text: '… 40 more' }],
    );
    assert.deepEqual(lines, ['  trial  state', '*     3  running', '… 40 more']);
  });

  it('measures terminal cells: wide characters take two, so columns stay aligned', () => {
    const lines = renderTable(
      [{ title: 'name' }, { title: 'n' }],
      [
        ['数据', '1'],
        ['ab', '2'],
      ],
    );
    assert.deepEqual(lines, ['name  n', '数据  1', 'ab    2']);
    assert.equal(displayWidth('数据'), 4);
  });

  it('cuts lines wider than maxWidth with …, by cells', () => {
    const lines = renderTable([{ title: 'a' }, { title: 'b' }], [['x', 'y'.repeat(30)]], { maxWidth: 10 });
    assert.deepEqual(lines, ['a  b', `x  ${'y'.repeat(6)}…`]);
    assert.equal(clipToWidth('数据集数据集', 7), '数据集…');
    assert.equal(displayWidth(clipToWidth('数据集数据集', 7)), 7);
    assert.equal(renderTable([{ title: 'a' }], [['b']], { header: false }).join('\n'), 'b');
  });
});
