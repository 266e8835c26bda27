// A small MNIST-format (IDX) dataset written by a test: 6x6 images, 3
// classes; class c lights up row c. Trains to high accuracy in a few epochs.
import { writeFileSync } from "fs";
import { gzipSync } from "zlib";
import { join } from "path";

export function writeIdx(dir: string, trainCount = 600, testCount = 200): void {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const split = (count: number, images: string, labels: string) => {
    const ls = Array.from({ length: count }, () => Math.floor(rand() * 3));
    const head = Buffer.alloc(16);
    head.writeUInt32BE(0x803, 0);
    head.writeUInt32BE(count, 4);
    head.writeUInt32BE(6, 8);
    head.writeUInt32BE(6, 12);
    const px = Buffer.alloc(count * 36);
    ls.forEach((l, i) => {
      for (let p = 0; p < 36; p++) px[i * 36 + p] = Math.floor(p / 6) === l ? 200 : 20 + Math.floor(rand() * 20);
    });
    writeFileSync(join(dir, images), Buffer.concat([head, px]));
    const lhead = Buffer.alloc(8);
    lhead.writeUInt32BE(0x801, 0);
    lhead.writeUInt32BE(count, 4);
    writeFileSync(join(dir, labels + ".gz"), gzipSync(Buffer.concat([lhead, Buffer.from(ls)])));
  };
  split(trainCount, "train-images-idx3-ubyte", "train-labels-idx1-ubyte");
  split(testCount, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");
}
