// Static checks of web/ that need no server: what the Content Security
// Policy (default-src 'self'; script-src 'self'; style-src 'self') and the
// embedding server expect of the files.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? walk(full) : [full];
  });
}

const files = walk(WEB);
const rel = (file) => path.relative(WEB, file).split(path.sep).join('/');
const html = files.filter((f) => f.endsWith('.html'));
const scripts = files.filter((f) => f.endsWith('.js'));

test('the pages exist and everything else is under assets/', () => {
  assert.deepEqual(html.map(rel).sort(), ['account.html', 'login.html', 'recover.html', 'signup.html']);
  for (const file of files.map(rel)) {
    assert.ok(file.endsWith('.html') ? !file.includes('/') : file.startsWith('assets/'), `${file} is out of place`);
  }
});

test('file names are lowercase ASCII', () => {
  for (const file of files.map(rel)) assert.match(file, /^[a-z0-9._/-]+$/, file);
});

test('pages have no inline script, inline style or event-handler attribute', () => {
  for (const file of html) {
    const text = fs.readFileSync(file, 'utf8');
    for (const tag of text.match(/<script\b[^>]*>/g) || []) {
      assert.match(tag, /\bsrc="\/assets\/[a-z0-9.-]+\.js"/, `${rel(file)}: ${tag}`);
    }
    assert.doesNotMatch(text, /<script\b[^>]*>[^<]+<\/script>/, `${rel(file)} has an inline script`);
    assert.doesNotMatch(text, /<style\b/, `${rel(file)} has a <style> element`);
    assert.doesNotMatch(text, /\sstyle=/, `${rel(file)} has a style attribute`);
    assert.doesNotMatch(text, /\son[a-z]+=/, `${rel(file)} has an event-handler attribute`);
    assert.doesNotMatch(text, /javascript:/i, `${rel(file)} has a javascript: URL`);
  }
});

test('nothing is loaded from another origin', () => {
  for (const file of files.filter((f) => /\.(html|css|js)$/.test(f))) {
    const text = fs.readFileSync(file, 'utf8');
    const pattern = file.endsWith('.css') ? /\burl\(\s*["']?([^"')]+)/g : /\b(?:src|href)\s*=\s*["']([^"']+)["']/g;
    for (const match of text.matchAll(pattern)) {
      const target = match[1];
      assert.ok(/^(\/|#|data:|mailto:)/.test(target), `${rel(file)} refers to ${target}`);
    }
    assert.doesNotMatch(text, /\bhttps?:\/\/(?!localhost|127\.0\.0\.1|chromium\.googlesource)[a-z0-9.-]+\.[a-z]{2,}\/[^\s'"`]*\.(js|css|woff2?|png|svg)/i, `${rel(file)} names a remote asset`);
    assert.doesNotMatch(text, /@import\s+url\(\s*["']?https?:/, `${rel(file)} imports from elsewhere`);
  }
});

test('every local file a page or module refers to exists', () => {
  for (const file of html) {
    const text = fs.readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)) {
      assert.ok(fs.existsSync(path.join(WEB, match[1])), `${rel(file)} refers to missing ${match[1]}`);
    }
  }
  for (const file of scripts) {
    const text = fs.readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:\bfrom\s+|\bimport\s+)'(\.\.?\/[^']+)'/g)) {
      assert.ok(fs.existsSync(path.join(path.dirname(file), match[1])), `${rel(file)} imports missing ${match[1]}`);
    }
  }
});

test('every page sets the language, a viewport, a title, and an h1 (one per view)', () => {
  for (const file of html) {
    const text = fs.readFileSync(file, 'utf8');
    assert.match(text, /<html lang="en">/, rel(file));
    assert.match(text, /<meta name="viewport" content="width=device-width, initial-scale=1">/, rel(file));
    assert.match(text, /<title>[^<]+<\/title>/, rel(file));
    assert.ok((text.match(/<h1\b/g) || []).length >= 1, `${rel(file)} has no h1`);
  }
});

test('every input on the pages has a label', () => {
  for (const file of html) {
    const text = fs.readFileSync(file, 'utf8');
    for (const tag of text.match(/<input\b[^>]*>/g) || []) {
      if (/type="(radio|checkbox)"/.test(tag)) continue; // wrapped in their <label>
      if (/\shidden\b/.test(tag)) continue;
      const id = (tag.match(/\sid="([^"]+)"/) || [])[1];
      assert.ok(id, `${rel(file)}: input without id: ${tag}`);
      assert.ok(text.includes(`for="${id}"`), `${rel(file)}: no <label for="${id}">`);
    }
  }
});
