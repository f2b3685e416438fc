import { describe, expect, it } from 'vitest';
import { encodeObj, encodePly, vertexNormals } from '../../src/io/mesh.js';

const tetra = { positions: [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1], faces: [0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3] };

describe('mesh writers', () => {
  it('OBJ lists vertices and 1-based faces', () => {
    const text = encodeObj(tetra);
    expect(text).toContain('v 1 0 0\n');
    expect(text).toContain('f 1 3 2\n');
    expect(text.split('\n').filter((l) => l.startsWith('f ')).length).toBe(4);
  });

  it('PLY has a binary body of the declared size', () => {
    const bytes = encodePly({ ...tetra, normals: vertexNormals(tetra.positions, tetra.faces) });
    const text = new TextDecoder().decode(bytes.subarray(0, 400));
    const headerEnd = text.indexOf('end_header\n') + 'end_header\n'.length;
    expect(text).toContain('element vertex 4');
    expect(text).toContain('property float nx');
    expect(bytes.length).toBe(headerEnd + 4 * 24 + 4 * 13);
  });

  it('normals of an outward-wound closed mesh point outward', () => {
    const n = vertexNormals(tetra.positions, tetra.faces);
    // vertex 0 at the origin: its normal points away from the tetrahedron (negative octant)
    expect(n[0]).toBeLessThan(0);
    expect(n[1]).toBeLessThan(0);
    expect(n[2]).toBeLessThan(0);
  });
});
