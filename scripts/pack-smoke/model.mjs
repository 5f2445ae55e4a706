export default class Doubler {
  predict(_ctx, table) {
    const x = table.getChild('x').toArray();
    return Float64Array.from(x, (v) => v * 2);
  }
}
