// jsdom lacks DragEvent, which @lumino/dragdrop (pulled in by @lumino/widgets) subclasses at import.
if (typeof window !== 'undefined' && typeof window.DragEvent === 'undefined') {
  window.DragEvent = class DragEvent extends window.MouseEvent {};
  global.DragEvent = window.DragEvent;
}
