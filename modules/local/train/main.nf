// Train one cross-validation fold; the workflow runs the folds as parallel tasks.
process TRAIN {
    tag "fold ${fold}"
    label 'process_gpu'

    input:
    tuple path(proteins), path(folds), path(embeddings) // embeddings: [] for the cnn backbone
    each fold
    val backbone
    path checkpoint       // pretrained weights folder, or [] when training from embeddings / cnn

    output:
    path "model/fold${fold}", emit: model
    tuple val("${task.process}"), val('locflow'), eval('locflow --version | sed "s/^locflow //"'), emit: versions_locflow, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def embeddings_arg = embeddings ? "--embeddings ${embeddings}" : ''
    def checkpoint_arg = checkpoint ? "--checkpoint ${checkpoint}" : ''
    """
    locflow train ${proteins} ${folds} --fold ${fold} --backbone ${backbone} ${embeddings_arg} ${checkpoint_arg} --out model ${args}
    """

    stub:
    """
    mkdir -p model/fold${fold}
    touch model/fold${fold}/weights.safetensors
    echo '{}' > model/fold${fold}/config.json
    """
}
